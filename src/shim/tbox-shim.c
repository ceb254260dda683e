/*
 * tbox-shim: the small process that stands between tbox and a container.
 *
 * tbox starts it as `unshare --mount --uts --ipc --net --pid -- tbox-shim ...`.
 * unshare(1) has already moved this process into new mount, uts, ipc and net
 * namespaces; the pid namespace applies to children only, so the fork below
 * creates the container's pid 1. Doing the fork here rather than with
 * `unshare --fork` is what lets us see pid 1's real wait status: Debian 12's
 * unshare reports a SIGKILLed child as exit 1, and we need 137.
 *
 * The child builds the container's root (overlay, /proc, /sys, /dev, bind
 * mounts), pivots into it and execs the command. The parent steps back into
 * tbox's own mount and network namespaces, so the container's are held by the
 * container alone and vanish with it (mounts, veth), and stays as the
 * container's monitor: it relays signals, copies stdout/stderr into the log
 * with timestamps, waits, records the exit code, and can start a clean-up
 * hook (`tbox system reconcile`) when the container is gone. It is C rather
 * than Node because one of these lives per running container and must cost
 * well under a megabyte.
 *
 * Log format, one entry per line: <RFC 3339 UTC time> <stream> <text>, where
 * stream is stdout or stderr, with a trailing '+' when the text did not end
 * in a newline in the original output (a long or final partial line).
 *
 * Report protocol on --report-fd (one line each, in order):
 *   pid <host pid of container pid 1>
 *   ready                      the command was exec'd
 *   error <code> <message>     setup or exec failed; the shim exits <code>
 *   exit <code>                the container's exit code (also the shim's)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <termios.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_BINDS 16
#define MAX_HOOK_ARGS 16
#define LINE_MAX_BYTES 16384

struct bind { const char *src, *dst; };

struct spec {
    const char *rootfs, *lower, *upper, *work, *hostname, *cwd, *exit_file, *log_file, *user;
    int report_fd, sync_fd, loopback_up, tee, tty, interactive;
    char *on_exit[MAX_HOOK_ARGS + 1];
    int n_on_exit;
    struct bind binds[MAX_BINDS];
    int nbinds;
    char **argv;
};

static int err_pipe[2] = {-1, -1};
static volatile pid_t child_pid;

/* Child side: report a failure through the close-on-exec pipe and exit. */
static void fail(int code, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg + 4, sizeof msg - 4, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if (n > (int)sizeof msg - 5) n = sizeof msg - 5;
    msg[0] = (char)code;
    msg[1] = msg[2] = msg[3] = ' ';
    if (write(err_pipe[1], msg, 4 + n) < 0) { /* nothing left to tell */ }
    _exit(code);
}

static void path_in(char *out, size_t len, const char *root, const char *rel) {
    snprintf(out, len, "%s/%s", root, rel[0] == '/' ? rel + 1 : rel);
}

static void mkdir_p(const char *path, mode_t mode) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        mkdir(tmp, mode);
        *p = '/';
    }
    mkdir(tmp, mode);
}

static void must_mount(const char *src, const char *target, const char *type,
                       unsigned long flags, const char *data) {
    mkdir_p(target, 0755);
    if (mount(src, target, type, flags, data) < 0)
        fail(125, "mount %s on %s: %s", type ? type : src, target, strerror(errno));
}

static void make_dev(const char *rootfs) {
    static const struct { const char *name; unsigned maj, min; } nodes[] = {
        {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
        {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
    };
    static const struct { const char *name, *target; } links[] = {
        {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"},
        {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
        {"ptmx", "pts/ptmx"},
    };
    char dev[4096], p[4096];
    path_in(dev, sizeof dev, rootfs, "/dev");
    must_mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        path_in(p, sizeof p, dev, nodes[i].name);
        if (mknod(p, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0)
            fail(125, "mknod %s: %s", p, strerror(errno));
        chmod(p, 0666); /* mknod is subject to the umask */
    }
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        path_in(p, sizeof p, dev, links[i].name);
        if (symlink(links[i].target, p) < 0) fail(125, "symlink %s: %s", p, strerror(errno));
    }
    path_in(p, sizeof p, dev, "pts");
    must_mount("devpts", p, "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    path_in(p, sizeof p, dev, "shm");
    must_mount("shm", p, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
    path_in(p, sizeof p, dev, "mqueue");
    must_mount("mqueue", p, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

static void bind_file(const char *rootfs, const struct bind *b) {
    char dst[4096];
    path_in(dst, sizeof dst, rootfs, b->dst);
    struct stat st;
    if (lstat(dst, &st) < 0 || !S_ISREG(st.st_mode)) {
        /* A symlink here (say /etc/resolv.conf -> ../run/...) could point the
         * bind mount outside the rootfs, so replace it with a plain file. */
        unlink(dst);
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", dst);
        char *slash = strrchr(dir, '/');
        if (slash) { *slash = 0; mkdir_p(dir, 0755); }
        int fd = open(dst, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) fail(125, "create %s: %s", dst, strerror(errno));
        close(fd);
    }
    if (mount(b->src, dst, NULL, MS_BIND, NULL) < 0)
        fail(125, "bind %s on %s: %s", b->src, dst, strerror(errno));
}

/* A new network namespace starts with lo down; bring it up without
 * spawning `ip`. */
static void loopback_up(void) {
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) fail(125, "socket: %s", strerror(errno));
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) fail(125, "lo flags: %s", strerror(errno));
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) fail(125, "lo up: %s", strerror(errno));
    close(sock);
}

static void build_root(const struct spec *s) {
    char p[4096], opts[4096];
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        fail(125, "make / private: %s", strerror(errno));
    int n = snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", s->lower, s->upper, s->work);
    if (n >= (int)sizeof opts) fail(125, "overlay options too long (%d bytes)", n);
    must_mount("overlay", s->rootfs, "overlay", 0, opts);

    path_in(p, sizeof p, s->rootfs, "/proc");
    must_mount("proc", p, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    path_in(p, sizeof p, s->rootfs, "/sys");
    must_mount("sysfs", p, "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    make_dev(s->rootfs);
    for (int i = 0; i < s->nbinds; i++) bind_file(s->rootfs, &s->binds[i]);

    if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
        fail(125, "sethostname: %s", strerror(errno));

    /* pivot_root(".", ".") stacks the old root under the new one; detaching
     * it leaves no trace of the host's tree and needs no .oldroot directory. */
    if (chdir(s->rootfs) < 0) fail(125, "chdir %s: %s", s->rootfs, strerror(errno));
    if (syscall(SYS_pivot_root, ".", ".") < 0) fail(125, "pivot_root: %s", strerror(errno));
    if (umount2(".", MNT_DETACH) < 0) fail(125, "detach old root: %s", strerror(errno));
    if (chdir("/") < 0) fail(125, "chdir /: %s", strerror(errno));

    const char *cwd = s->cwd ? s->cwd : "/";
    mkdir_p(cwd, 0755);
    if (chdir(cwd) < 0) fail(125, "working directory %s: %s", cwd, strerror(errno));
}

static int out_pipe[2] = {-1, -1}, err_out_pipe[2] = {-1, -1};
/* With --tty: the child sends the pty master here, for the parent to relay. */
static int pty_sock[2] = {-1, -1};
static volatile sig_atomic_t winch;

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

static int recv_fd(int sock) {
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
static void take_pty(void) {
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

static void run_child(const struct spec *s) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* The container must not outlive its monitor: with no monitor nobody
     * would record its exit or clean up after it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(err_pipe[0]);
    if (pty_sock[0] >= 0) close(pty_sock[0]);
    if (out_pipe[1] >= 0 && !s->tty) {
        dup2(out_pipe[1], 1);
        dup2(err_out_pipe[1], 2);
        close(out_pipe[0]);
        close(err_out_pipe[0]);
        close(out_pipe[1]);
        close(err_out_pipe[1]);
    }

    if (s->loopback_up) loopback_up();
    build_root(s);
    if (s->tty) take_pty();

    if (s->sync_fd >= 0) {
        char go;
        ssize_t r;
        do r = read(s->sync_fd, &go, 1); while (r < 0 && errno == EINTR);
        if (r != 1) fail(125, "aborted by tbox before start");
        close(s->sync_fd);
    }
    if (s->user) {
        unsigned uid, gid;
        if (sscanf(s->user, "%u:%u", &uid, &gid) != 2) fail(125, "bad --user %s", s->user);
        if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0) fail(125, "set user %s: %s", s->user, strerror(errno));
    }
    for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);

    execvp(s->argv[0], s->argv);
    int e = errno;
    if (e == ENOENT)
        fail(127, "exec: \"%s\": %s", s->argv[0],
             strchr(s->argv[0], '/') ? "no such file or directory" : "executable file not found in $PATH");
    fail(126, "exec: \"%s\": %s", s->argv[0], strerror(e));
}

static int tty_mode;

static void forward(int sig, siginfo_t *info, void *ctx) {
    (void)ctx;
    /* With a pty, a resize is ours to copy onto it; the kernel then tells
     * the container's foreground processes. */
    if (sig == SIGWINCH && tty_mode) {
        winch = 1;
        return;
    }
    /* Terminal-generated signals (SI_KERNEL) already reached the container,
     * which shares our process group; only relay what was sent to us. */
    if (info->si_code == SI_USER || info->si_code == SI_QUEUE) {
        if (child_pid > 0) kill(child_pid, sig);
    }
}

static void report(int fd, const char *fmt, ...) {
    if (fd < 0) return;
    char line[1200];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 1) n = sizeof line - 1;
    if (write(fd, line, n) < 0) { /* tbox went away; the exit file still tells */ }
}

struct stream {
    int fd;          /* read end of the container's stdout or stderr, -1 at EOF */
    int tee_fd;      /* where the bytes also go as they come (foreground), or -1 */
    const char *name;
    char line[LINE_MAX_BYTES];
    size_t len;
};

static void write_all(int fd, const char *buf, size_t len) {
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
static void pump(struct stream *st, int log_fd) {
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

static void copy_output(int out_fd, int err_fd, int log_fd, int tee) {
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

static void copy_winsize(int from, int to) {
    struct winsize ws;
    if (ioctl(from, TIOCGWINSZ, &ws) == 0) ioctl(to, TIOCSWINSZ, &ws);
}

/* -t: the pty's output goes to the log (and our stdout in the foreground);
 * with -i our stdin goes to the pty. Ends when the container's side closes. */
static void relay_pty(int master, int log_fd, int tee, int interactive) {
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

/* Start the clean-up hook in its own session and don't wait for it: tbox's
 * foreground CLI is waiting for this process to exit. */
static void start_hook(char **argv) {
    pid_t pid = fork();
    if (pid != 0) return;
    setsid();
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
    }
    execv(argv[0], argv);
    _exit(127);
}

static void usage(void) {
    fprintf(stderr, "usage: tbox-shim --rootfs DIR --lower DIRS --upper DIR --work DIR [--hostname H] [--cwd DIR]\n"
                    "                 [--bind SRC DST]... [--loopback-up] [--exit-file F] [--report-fd N] [--sync-fd N]\n"
                    "                 [--log FILE [--tee]] [--tty [--interactive]] [--user UID:GID] [--on-exit ARG]... -- CMD...\n");
    exit(125);
}

static void parse(int argc, char **argv, struct spec *s) {
    memset(s, 0, sizeof *s);
    s->report_fd = s->sync_fd = -1;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { i++; break; }
        if (i + 1 >= argc) usage();
        if (!strcmp(a, "--loopback-up")) { s->loopback_up = 1; continue; }
        if (!strcmp(a, "--tee")) { s->tee = 1; continue; }
        if (!strcmp(a, "--tty")) { s->tty = 1; continue; }
        if (!strcmp(a, "--interactive")) { s->interactive = 1; continue; }
        if (!strcmp(a, "--rootfs")) s->rootfs = argv[++i];
        else if (!strcmp(a, "--lower")) s->lower = argv[++i];
        else if (!strcmp(a, "--upper")) s->upper = argv[++i];
        else if (!strcmp(a, "--work")) s->work = argv[++i];
        else if (!strcmp(a, "--hostname")) s->hostname = argv[++i];
        else if (!strcmp(a, "--cwd")) s->cwd = argv[++i];
        else if (!strcmp(a, "--exit-file")) s->exit_file = argv[++i];
        else if (!strcmp(a, "--log")) s->log_file = argv[++i];
        else if (!strcmp(a, "--user")) s->user = argv[++i];
        else if (!strcmp(a, "--on-exit") && s->n_on_exit < MAX_HOOK_ARGS) s->on_exit[s->n_on_exit++] = argv[++i];
        else if (!strcmp(a, "--report-fd")) s->report_fd = atoi(argv[++i]);
        else if (!strcmp(a, "--sync-fd")) s->sync_fd = atoi(argv[++i]);
        else if (!strcmp(a, "--bind") && i + 2 < argc && s->nbinds < MAX_BINDS) {
            s->binds[s->nbinds].src = argv[++i];
            s->binds[s->nbinds++].dst = argv[++i];
        } else usage();
    }
    if (!s->rootfs || !s->lower || !s->upper || !s->work || i >= argc) usage();
    s->argv = argv + i;
}

int main(int argc, char **argv) {
    struct spec s;
    parse(argc, argv, &s);

    /* Opened now: once the child pivots, this mount namespace no longer
     * sees host paths, and that includes us. */
    int exit_fd = -1;
    if (s.exit_file) {
        exit_fd = open(s.exit_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (exit_fd < 0) { fprintf(stderr, "tbox-shim: %s: %s\n", s.exit_file, strerror(errno)); return 125; }
    }
    int log_fd = -1;
    if (s.log_file) {
        log_fd = open(s.log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (log_fd < 0) { fprintf(stderr, "tbox-shim: %s: %s\n", s.log_file, strerror(errno)); return 125; }
        if (!s.tty && (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_out_pipe, O_CLOEXEC) < 0)) { perror("tbox-shim: pipe"); return 125; }
    }
    /* tbox's namespaces, to return to after the fork: our parent is tbox,
     * which unshare(1) did not move. */
    char ns_path[64];
    snprintf(ns_path, sizeof ns_path, "/proc/%d/ns/mnt", getppid());
    int host_mnt = open(ns_path, O_RDONLY | O_CLOEXEC);
    snprintf(ns_path, sizeof ns_path, "/proc/%d/ns/net", getppid());
    int host_net = open(ns_path, O_RDONLY | O_CLOEXEC);
    /* Our own pid namespace: once pid 1 is gone, fork() into the container's
     * fails with ENOMEM, and the clean-up hook needs a fork. */
    int host_pid = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (host_mnt < 0 || host_net < 0 || host_pid < 0) { perror("tbox-shim: host namespaces"); return 125; }
    if (s.report_fd >= 0) fcntl(s.report_fd, F_SETFD, FD_CLOEXEC);
    if (pipe2(err_pipe, O_CLOEXEC) < 0) { perror("tbox-shim: pipe"); return 125; }
    tty_mode = s.tty;
    if (s.tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pty_sock) < 0) { perror("tbox-shim: socketpair"); return 125; }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = forward;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    static const int relayed[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT, SIGALRM};
    for (size_t i = 0; i < sizeof relayed / sizeof relayed[0]; i++) sigaction(relayed[i], &sa, NULL);
    signal(SIGTSTP, SIG_IGN);
    signal(SIGTTIN, SIG_IGN);
    signal(SIGTTOU, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);

    pid_t pid = fork();
    if (pid < 0) { perror("tbox-shim: fork"); return 125; }
    if (pid == 0) run_child(&s);
    child_pid = pid;
    close(err_pipe[1]);
    if (s.sync_fd >= 0) close(s.sync_fd);
    if (log_fd >= 0 && !s.tty) {
        close(out_pipe[1]);
        close(err_out_pipe[1]);
    }
    if (setns(host_mnt, CLONE_NEWNS) < 0 || setns(host_net, CLONE_NEWNET) < 0 || setns(host_pid, CLONE_NEWPID) < 0) {
        perror("tbox-shim: setns");
        kill(pid, SIGKILL);
    }
    close(host_mnt);
    close(host_net);
    close(host_pid);
    report(s.report_fd, "pid %d\n", pid);

    char msg[1024];
    ssize_t n;
    do n = read(err_pipe[0], msg, sizeof msg - 1); while (n < 0 && errno == EINTR);
    close(err_pipe[0]);
    if (n > 4) {
        msg[n] = 0;
        report(s.report_fd, "error %d %s\n", (unsigned char)msg[0], msg + 4);
    } else {
        report(s.report_fd, "ready\n");
    }

    if (s.tty) {
        close(pty_sock[1]);
        int master = recv_fd(pty_sock[0]);
        close(pty_sock[0]);
        if (master >= 0) {
            relay_pty(master, log_fd, s.tee, s.interactive);
            close(master);
        }
    } else if (log_fd >= 0) {
        copy_output(out_pipe[0], err_out_pipe[0], log_fd, s.tee);
    }

    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) { perror("tbox-shim: waitpid"); return 125; }
    }
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (exit_fd >= 0) {
        char buf[16];
        int len = snprintf(buf, sizeof buf, "%d\n", code);
        if (write(exit_fd, buf, len) < 0) { /* reconcile will treat it as lost */ }
        close(exit_fd);
    }
    report(s.report_fd, "exit %d\n", code);
    if (s.n_on_exit > 0) start_hook(s.on_exit);
    return code;
}
