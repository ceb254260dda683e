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
#include "shim.h"

int err_pipe[2] = {-1, -1};
int out_pipe[2] = {-1, -1}, err_out_pipe[2] = {-1, -1};
/* With --tty: the child sends the pty master here, for the parent to relay. */
int pty_sock[2] = {-1, -1};
volatile sig_atomic_t winch;
static volatile pid_t child_pid;

static int tty_mode;
/* What the exit file holds while the container runs: as long as any code. */
#define EXIT_BLANK "        \n"

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
                    "                 [--loopback-up] [--exit-file F] [--report-fd N] [--sync-fd N]\n"
                    "                 [--log FILE [--tee]] [--tty [--interactive]] [--user UID:GID] [--on-exit ARG]...\n"
                    "                 [--env-file FILE] [--caps BND,EFF,PRM,INH,AMB] [--no-new-privs] [--seccomp RULES] [--nodev] [--cgroup DIR]...\n"
                    "                 [--mask PATH]... [--readonly PATH]... [--device SRC DST]... [--volume SRC DST ro|rw[,seed]]...\n"
                    "                 [--tmpfs DST OPTS]... [--read-only] [--publish tcp|udp:IP:PORT]... -- CMD...\n"
                    "       tbox-shim --join PID [--cwd DIR] [--user UID:GID] [--env-fd N] [--caps ...] [--no-new-privs] [--seccomp RULES] [--cgroup DIR]... [--tty [--interactive]] -- CMD...\n");
    exit(125);
}

/* KEY=VAL entries separated by NUL bytes, as /proc/PID/environ has them. */
static char **read_env(const char *file, int fd) {
    if (fd < 0) fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { fprintf(stderr, "tbox-shim: %s: %s\n", file, strerror(errno)); exit(125); }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (!buf) { fputs("tbox-shim: out of memory\n", stderr); exit(125); }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) { fprintf(stderr, "tbox-shim: %s: %s\n", file, strerror(errno)); exit(125); }
        if (n == 0) break;
        len += (size_t)n;
        if (len == cap) buf = realloc(buf, (cap *= 2) + 1);
    }
    close(fd);
    buf[len] = 0;
    size_t count = 0;
    for (size_t i = 0; i < len; i++) count += buf[i] == 0;
    char **envp = calloc(count + 2, sizeof *envp);
    if (!envp) { fputs("tbox-shim: out of memory\n", stderr); exit(125); }
    size_t k = 0;
    for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
        if (buf[i]) envp[k++] = buf + i;
    return envp;
}

static void parse(int argc, char **argv, struct spec *s) {
    memset(s, 0, sizeof *s);
    s->report_fd = s->sync_fd = s->seccomp_fd = -1;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { i++; break; }
        if (i + 1 >= argc) usage();
        if (!strcmp(a, "--loopback-up")) { s->loopback_up = 1; continue; }
        if (!strcmp(a, "--tee")) { s->tee = 1; continue; }
        if (!strcmp(a, "--tty")) { s->tty = 1; continue; }
        if (!strcmp(a, "--interactive")) { s->interactive = 1; continue; }
        if (!strcmp(a, "--no-new-privs")) { s->no_new_privs = 1; continue; }
        if (!strcmp(a, "--nodev")) { s->nodev = 1; continue; }
        if (!strcmp(a, "--read-only")) { s->readonly_root = 1; continue; }
        if (!strcmp(a, "--init")) { s->init = 1; continue; }
        if (!strcmp(a, "--hand-off")) { s->hand_off = 1; continue; }
        if (!strcmp(a, "--rootfs")) s->rootfs = argv[++i];
        else if (!strcmp(a, "--lower")) s->lower = argv[++i];
        else if (!strcmp(a, "--upper")) s->upper = argv[++i];
        else if (!strcmp(a, "--work")) s->work = argv[++i];
        else if (!strcmp(a, "--hostname")) s->hostname = argv[++i];
        else if (!strcmp(a, "--cwd")) s->cwd = argv[++i];
        else if (!strcmp(a, "--exit-file")) s->exit_file = argv[++i];
        else if (!strcmp(a, "--log")) s->log_file = argv[++i];
        else if (!strcmp(a, "--user")) s->user = argv[++i];
        else if (!strcmp(a, "--env-file")) s->envp = read_env(argv[i + 1], -1), i++;
        /* exec: the same from a pipe, which must not reach the command */
        else if (!strcmp(a, "--env-fd")) s->envp = read_env("env pipe", atoi(argv[++i]));
        else if (!strcmp(a, "--join")) s->join_pid = atoi(argv[++i]);
        else if (!strcmp(a, "--on-exit") && s->n_on_exit < MAX_HOOK_ARGS) s->on_exit[s->n_on_exit++] = argv[++i];
        else if (!strcmp(a, "--caps")) {
            /* bounding,effective,permitted,inheritable,ambient as hex masks */
            struct caps *c = &s->caps;
            if (sscanf(argv[++i], "%llx,%llx,%llx,%llx,%llx", &c->bounding, &c->effective, &c->permitted, &c->inheritable, &c->ambient) != 5) usage();
            c->set = 1;
        }
        else if (!strcmp(a, "--unshare")) s->unshare = argv[++i];
        else if (!strcmp(a, "--setns") && s->nsetns < 8) s->setns[s->nsetns++] = argv[++i];
        else if (!strcmp(a, "--console-socket")) s->console_socket = argv[++i];
        else if (!strcmp(a, "--rlimit") && s->nrlimits < 32) s->rlimits[s->nrlimits++] = argv[++i];
        else if (!strcmp(a, "--cgroup") && s->ncgroups < 16) s->cgroups[s->ncgroups++] = argv[++i];
        else if (!strcmp(a, "--seccomp")) {
            /* Opened now, while the host's files are in view; parsed by the
             * child, so the monitor's heap never holds the filter. */
            const char *file = argv[++i];
            if ((s->seccomp_fd = open(file, O_RDONLY | O_CLOEXEC)) < 0) { fprintf(stderr, "tbox-shim: %s: %s\n", file, strerror(errno)); exit(125); }
        }
        else if (!strcmp(a, "--mask") && s->nmasked < MAX_PATHS) s->masked[s->nmasked++] = argv[++i];
        else if (!strcmp(a, "--readonly") && s->nreadonly < MAX_PATHS) s->readonly[s->nreadonly++] = argv[++i];
        else if (!strcmp(a, "--device") && i + 2 < argc && s->ndevices < MAX_PATHS) {
            s->devices[s->ndevices].src = argv[++i];
            s->devices[s->ndevices++].dst = argv[++i];
        }
        else if (!strcmp(a, "--report-fd")) s->report_fd = atoi(argv[++i]);
        else if (!strcmp(a, "--explain-fd")) {
            explain_fd = atoi(argv[++i]);
            fcntl(explain_fd, F_SETFD, FD_CLOEXEC);
        }
        else if (!strcmp(a, "--sync-fd")) s->sync_fd = atoi(argv[++i]);
        else if (!strcmp(a, "--volume") && i + 3 < argc && s->nmounts < MAX_PATHS) {
            struct user_mount *m = &s->mounts[s->nmounts++];
            m->kind = 'b';
            m->src = argv[++i];
            m->dst = argv[++i];
            m->opts = argv[++i];
        }
        else if (!strcmp(a, "--tmpfs") && i + 2 < argc && s->nmounts < MAX_PATHS) {
            struct user_mount *m = &s->mounts[s->nmounts++];
            m->kind = 't';
            m->dst = argv[++i];
            m->opts = argv[++i];
        }
        else if (!strcmp(a, "--publish")) {
            if (!s->publish && !(s->publish = calloc((size_t)argc, sizeof *s->publish))) usage();
            s->publish[s->npublish++] = argv[++i];
        }
        else usage();
    }
    /* without --lower, the rootfs is a ready directory (an OCI bundle's root.path) */
    if ((!s->join_pid && (!s->rootfs || (s->lower && (!s->upper || !s->work)))) || i >= argc) usage();
    s->argv = argv + i;
}

/* tbox exec -t: into a running container's namespaces (its root comes with
 * the mount namespace, which pivot_root made the container's). All are
 * opened before any is entered, since /proc changes meaning on the way. */
static int join_namespaces(int pid) {
    static const char *kinds[] = {"ipc", "uts", "net", "pid", "mnt"};
    int fds[5];
    char p[64];
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "/proc/%d/ns/%s", pid, kinds[i]);
        if ((fds[i] = open(p, O_RDONLY | O_CLOEXEC)) < 0) return -1;
    }
    for (int i = 0; i < 5; i++) {
        if (setns(fds[i], 0) < 0) return -1;
        close(fds[i]);
    }
    return 0;
}

/* config.json's linux.namespaces: join those with a path (--network
 * container:X, a pod's shared ones), make the others. unshare(2) here, not
 * unshare(1) before us: one exec less on every start. The new pid namespace
 * is our children's. */
static int enter_namespaces(const struct spec *s) {
    static const struct { const char *name; int flag; } kinds[] = {
        {"net", CLONE_NEWNET}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"pid", CLONE_NEWPID}, {"mount", CLONE_NEWNS},
    };
    for (int i = 0; i < s->nsetns; i++) {
        const char *colon = strchr(s->setns[i], ':');
        int flag = 0;
        const char *kind = "";
        for (size_t k = 0; colon && k < sizeof kinds / sizeof kinds[0]; k++)
            if ((size_t)(colon - s->setns[i]) == strlen(kinds[k].name) && !strncmp(s->setns[i], kinds[k].name, strlen(kinds[k].name)))
                flag = kinds[k].flag, kind = kinds[k].name;
        if (!flag) { fprintf(stderr, "tbox-shim: bad --setns %s\n", s->setns[i]); return -1; }
        const char *path = colon + 1;
        explain("a namespace shared with another container (--network container:, a pod)", "nsenter --%s=%s", kind, path);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, flag) < 0) { fprintf(stderr, "tbox-shim: join %s: %s\n", path, strerror(errno)); return -1; }
        close(fd);
    }
    if (!s->unshare) return 0;
    int flags = 0;
    char list[64], shown[128] = "";
    snprintf(list, sizeof list, "%s", s->unshare);
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "mount")) flags |= CLONE_NEWNS;
        else if (!strcmp(t, "uts")) flags |= CLONE_NEWUTS;
        else if (!strcmp(t, "ipc")) flags |= CLONE_NEWIPC;
        else if (!strcmp(t, "pid")) flags |= CLONE_NEWPID;
        else if (!strcmp(t, "net")) flags |= CLONE_NEWNET;
        else if (!strcmp(t, "cgroup")) flags |= CLONE_NEWCGROUP;
        else { fprintf(stderr, "tbox-shim: unknown namespace %s\n", t); return -1; }
        /* as unshare(1) would be typed */
        snprintf(shown + strlen(shown), sizeof shown - strlen(shown), " --%s", t);
    }
    explain("new namespaces: the container gets its own mounts, hostname, IPC, process ids and network stack", "unshare%s", shown);
    if (unshare(flags) < 0) { perror("tbox-shim: unshare"); return -1; }
    return 0;
}

int main(int argc, char **argv) {
    struct spec s;
    parse(argc, argv, &s);

    /* Opened now: once the child pivots, this mount namespace no longer
     * sees host paths, and that includes us. */
    int exit_fd = -1;
    if (s.exit_file) {
        /* The exit code is later written over this blank line in place, so
         * it needs no new disk blocks: a disk the container filled up
         * cannot make its own exit code go missing (and read as 137). */
        exit_fd = open(s.exit_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (exit_fd < 0 || write(exit_fd, EXIT_BLANK, sizeof EXIT_BLANK - 1) != sizeof EXIT_BLANK - 1 || fsync(exit_fd) < 0) {
            fprintf(stderr, "tbox-shim: %s: %s\n", s.exit_file, strerror(errno));
            return 125;
        }
    }
    int log_fd = -1;
    if (s.log_file) {
        log_fd = open(s.log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (log_fd < 0) { fprintf(stderr, "tbox-shim: %s: %s\n", s.log_file, strerror(errno)); return 125; }
        if (!s.tty && (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_out_pipe, O_CLOEXEC) < 0)) { perror("tbox-shim: pipe"); return 125; }
    }
    /* tbox's namespaces, to return to after the fork: ours, before we
     * leave them. The pid one too: once pid 1 is gone, fork() into the
     * container's fails with ENOMEM, and the clean-up hook needs a fork. */
    int host_mnt = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
    int host_net = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    int host_pid = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (host_mnt < 0 || host_net < 0 || host_pid < 0) { perror("tbox-shim: host namespaces"); return 125; }
    if (enter_namespaces(&s) < 0) return 125;
    if (s.report_fd >= 0) fcntl(s.report_fd, F_SETFD, FD_CLOEXEC);
    if (pipe2(err_pipe, O_CLOEXEC) < 0) { perror("tbox-shim: pipe"); return 125; }
    tty_mode = s.tty;
    if (s.tty && s.hand_off) {
        /* the pty master goes straight to whoever holds the console socket (conmon) */
        if (!s.console_socket || (pty_sock[1] = connect_unix(s.console_socket)) < 0) {
            fprintf(stderr, "tbox-shim: console socket %s: %s\n", s.console_socket ? s.console_socket : "(none given)", strerror(errno));
            return 125;
        }
    } else if (s.tty && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pty_sock) < 0) { perror("tbox-shim: socketpair"); return 125; }

    for (int i = 0; i < s.ncgroups; i++) {
        char p[4096];
        snprintf(p, sizeof p, "%s/cgroup.procs", s.cgroups[i]);
        if ((s.cgroup_fds[i] = open(p, O_WRONLY | O_CLOEXEC)) < 0) { fprintf(stderr, "tbox-shim: %s: %s\n", p, strerror(errno)); return 125; }
    }
    if (s.join_pid && join_namespaces(s.join_pid) < 0) { perror("tbox-shim: join the container"); return 125; }

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
    for (int i = 0; i < s.ncgroups; i++) close(s.cgroup_fds[i]);
    if (s.seccomp_fd >= 0) close(s.seccomp_fd);
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
    char why[512];
    if (hold_ports(&s, why, sizeof why) < 0) {
        /* pid 1 is still held before exec: nothing of the container ran */
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
        report(s.report_fd, "error 125 %s\n", why);
        if (s.report_fd < 0) fprintf(stderr, "tbox: %s\n", why);
        return 125;
    }
    /* pid 1 has its own copy until exec; the monitor has nothing more to explain. */
    if (explain_fd >= 0) close(explain_fd);
    explain_fd = -1;
    report(s.report_fd, "pid %d\n", pid);

    char msg[1024];
    ssize_t n;
    do n = read(err_pipe[0], msg, sizeof msg - 1); while (n < 0 && errno == EINTR);
    close(err_pipe[0]);
    if (n > 4) {
        msg[n] = 0;
        report(s.report_fd, "error %d %s\n", (unsigned char)msg[0], msg + 4);
        if (s.report_fd < 0) fprintf(stderr, "tbox: %s\n", msg + 4);
        if (s.hand_off) {
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
            return (unsigned char)msg[0];
        }
    } else if (s.hand_off) {
        /* One byte: pid 1 waits at the exec barrier (create); EOF: the command was exec'd (exec -d).
         * Either way it is the caller's subreaper's from here on. */
        report(s.report_fd, n == 1 ? "created\n" : "ready\n");
        return 0;
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
        char buf[sizeof EXIT_BLANK];
        snprintf(buf, sizeof buf, "%-8d\n", code);
        if (pwrite(exit_fd, buf, sizeof EXIT_BLANK - 1, 0) < 0) { /* reconcile will treat it as lost */ }
        close(exit_fd);
    }
    report(s.report_fd, "exit %d\n", code);
    if (s.n_on_exit > 0) start_hook(s.on_exit);
    return code;
}
