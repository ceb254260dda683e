/* Copying the container's stdout and stderr into its log, with timestamps. */
#define _GNU_SOURCE
#include "shim.h"

void write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return; /* a full disk or closed terminal must not stop the container */
        buf += n;
        len -= (size_t)n;
    }
}

static void log_entry(int log_fd, const struct stream *st, const char *text, size_t len, int partial) {
    struct timespec ts;
    struct tm tm;
    char prefix[96];
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(prefix, sizeof prefix, "%Y-%m-%dT%H:%M:%S", &tm);
    n += snprintf(prefix + n, sizeof prefix - n, ".%09ldZ %s%s ", ts.tv_nsec, st->name, partial ? "+" : "");
    write_all(log_fd, prefix, n);
    write_all(log_fd, text, len);
    if (partial) write_all(log_fd, "\n", 1);
}

/* Copy what the container printed into the log, line by line. */
void pump(struct stream *st, int log_fd) {
    char buf[8192];
    ssize_t n = read(st->fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) return;
    if (n <= 0) {
        if (st->len > 0) log_entry(log_fd, st, st->line, st->len, 1);
        st->len = 0;
        close(st->fd);
        st->fd = -1;
        return;
    }
    if (st->tee_fd >= 0) write_all(st->tee_fd, buf, (size_t)n);
    for (ssize_t i = 0; i < n; i++) {
        st->line[st->len++] = buf[i];
        if (buf[i] == '\n') {
            log_entry(log_fd, st, st->line, st->len, 0);
            st->len = 0;
        } else if (st->len == sizeof st->line) {
            log_entry(log_fd, st, st->line, st->len, 1);
            st->len = 0;
        }
    }
}

void copy_output(int out_fd, int err_fd, int log_fd, int tee) {
    static struct stream streams[2];
    streams[0] = (struct stream){.fd = out_fd, .tee_fd = tee ? 1 : -1, .name = "stdout"};
    streams[1] = (struct stream){.fd = err_fd, .tee_fd = tee ? 2 : -1, .name = "stderr"};
    while (streams[0].fd >= 0 || streams[1].fd >= 0) {
        struct pollfd pfd[2];
        for (int i = 0; i < 2; i++) pfd[i] = (struct pollfd){.fd = streams[i].fd, .events = POLLIN};
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        for (int i = 0; i < 2; i++)
            if (pfd[i].revents) pump(&streams[i], log_fd);
    }
}

