/* -t: a pty from the container's own devpts, and relaying it to tbox's terminal. */
#define _GNU_SOURCE
#include "shim.h"


static void send_fd(int sock, int fd) {
    char byte = 0;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    char ctrl[CMSG_SPACE(sizeof(int))];
    memset(ctrl, 0, sizeof ctrl);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof ctrl};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof(int));
    if (sendmsg(sock, &msg, 0) < 0) fail(125, "send pty: %s", strerror(errno));
}

/* A connected unix stream socket (the OCI console socket), or -1. */
int connect_unix(const char *path) {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) { errno = ENAMETOOLONG; return -1; }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) { close(fd); return -1; }
    return fd;
}

int recv_fd(int sock) {
    char byte;
    struct iovec iov = {.iov_base = &byte, .iov_len = 1};
    char ctrl[CMSG_SPACE(sizeof(int))];
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof ctrl};
    ssize_t n;
    do n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); while (n < 0 && errno == EINTR);
    struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
    if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return fd;
}

/* A terminal from the container's own devpts, as Docker gives with -t:
 * pid 1 leads a session whose controlling terminal is the slave. */
void take_pty(void) {
    int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) fail(125, "open /dev/ptmx: %s", strerror(errno));
    int unlock = 0, n;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &n) < 0) fail(125, "pty: %s", strerror(errno));
    char name[32];
    snprintf(name, sizeof name, "/dev/pts/%d", n);
    int slave = open(name, O_RDWR | O_NOCTTY);
    if (slave < 0) fail(125, "open %s: %s", name, strerror(errno));
    send_fd(pty_sock[1], master);
    close(master);
    close(pty_sock[1]);
    if (setsid() < 0 || ioctl(slave, TIOCSCTTY, 0) < 0) fail(125, "controlling terminal: %s", strerror(errno));
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    if (slave > 2) close(slave);
}

static void copy_winsize(int from, int to) {
    struct winsize ws;
    if (ioctl(from, TIOCGWINSZ, &ws) == 0) ioctl(to, TIOCSWINSZ, &ws);
}

/* -t: the pty's output goes to the log (and our stdout in the foreground);
 * with -i our stdin goes to the pty. Ends when the container's side closes. */
void relay_pty(int master, int log_fd, int tee, int interactive) {
    static struct stream out;
    out = (struct stream){.fd = master, .tee_fd = tee ? 1 : -1, .name = "stdout"};
    int in = interactive ? 0 : -1;
    if (tee) copy_winsize(0, master);
    while (out.fd >= 0) {
        if (winch) {
            winch = 0;
            copy_winsize(0, master);
        }
        struct pollfd pfd[2] = {{.fd = master, .events = POLLIN}, {.fd = in, .events = POLLIN}};
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if (pfd[0].revents) {
            if (log_fd >= 0) pump(&out, log_fd);
            else {
                char buf[8192];
                ssize_t n = read(master, buf, sizeof buf);
                if (n <= 0 && errno != EINTR) break;
                if (n > 0 && tee) write_all(1, buf, (size_t)n);
            }
        }
        if (in >= 0 && pfd[1].revents) {
            char buf[4096];
            ssize_t n = read(in, buf, sizeof buf);
            if (n > 0) write_all(master, buf, (size_t)n);
            else if (n == 0 || errno != EINTR) {
                in = -1; /* our stdin ended: send the container an end-of-file */
                write_all(master, "\x04", 1);
            }
        }
    }
}

