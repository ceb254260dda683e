/* Container side: what pid 1 (or an exec'd process) does between fork and exec. */
#define _GNU_SOURCE
#include "shim.h"

/* Child side: report a failure through the close-on-exec pipe and exit. */
void fail(int code, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg + 4, sizeof msg - 4, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if (n > (int)sizeof msg - 5) n = sizeof msg - 5;
    msg[0] = (char)code;
    msg[1] = msg[2] = msg[3] = ' ';
    /* handed off past the barrier: no shim is listening, the container's stderr is the caller's */
    if (err_pipe[1] < 0) dprintf(2, "tbox-shim: %s\n", msg + 4);
    else if (write(err_pipe[1], msg, 4 + n) < 0) { /* nothing left to tell */ }
    _exit(code);
}

/* Join the container's cgroups first, so all it does is counted and limited,
 * and every process it starts is in them too. The files were opened by
 * main() while the host's /sys/fs/cgroup was in view; "0" means the writer. */
static void join_cgroups(const struct spec *s) {
    for (int i = 0; i < s->ncgroups; i++) {
        if (write(s->cgroup_fds[i], "0", 1) != 1) fail(125, "join cgroup %s: %s", s->cgroups[i], strerror(errno));
        close(s->cgroup_fds[i]);
    }
}

/* Would execvp find cmd with this environment's PATH? (Inside the container's root.) */
static int executable(const char *cmd, char **envp) {
    if (strchr(cmd, '/')) return access(cmd, X_OK) == 0;
    const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (char **e = envp; e && *e; e++)
        if (!strncmp(*e, "PATH=", 5)) path = *e + 5;
    char dir[4096], file[4200];
    for (const char *p = path; *p;) {
        size_t len = strcspn(p, ":");
        snprintf(dir, sizeof dir, "%.*s", (int)(len < sizeof dir ? len : sizeof dir - 1), p);
        snprintf(file, sizeof file, "%s/%s", len ? dir : ".", cmd);
        if (access(file, X_OK) == 0) return 1;
        p += len + (p[len] == ':');
    }
    return 0;
}

void run_child(const struct spec *s) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* The container must not outlive its monitor: with no monitor nobody
     * would record its exit or clean up after it. Handed off, the caller's
     * subreaper is the monitor, and this shim exits at once. */
    if (!s->hand_off) prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(err_pipe[0]);
    if (pty_sock[0] >= 0) close(pty_sock[0]);
    join_cgroups(s);
    /* Built now, while tbox plugs in the network; loaded just before exec. */
    if (s->seccomp_fd >= 0) prepare_seccomp(s->seccomp_fd);
    if (out_pipe[1] >= 0 && !s->tty) {
        dup2(out_pipe[1], 1);
        dup2(err_out_pipe[1], 2);
        close(out_pipe[0]);
        close(err_out_pipe[0]);
        close(out_pipe[1]);
        close(err_out_pipe[1]);
    }

    if (s->join_pid) {
        /* tbox exec: the namespaces, and so the root, are the container's. */
        if (chdir(s->cwd ? s->cwd : "/") < 0) fail(125, "working directory %s: %s", s->cwd, strerror(errno));
    } else {
        if (s->loopback_up) loopback_up();
        build_root(s);
    }
    if (s->tty) take_pty();

    if (s->hand_off && s->sync_fd >= 0) {
        /* runc's create fails on a command that is not there; so does this, before the barrier */
        if (!executable(s->argv[0], s->envp)) fail(127, "exec: \"%s\": %s", s->argv[0],
             strchr(s->argv[0], '/') ? "no such file or directory" : "executable file not found in $PATH");
        if (write(err_pipe[1], "B", 1) != 1) _exit(125);
        close(err_pipe[1]);
        err_pipe[1] = -1;
    }
    if (s->sync_fd >= 0) {
        char go;
        ssize_t r;
        do r = read(s->sync_fd, &go, 1); while (r < 0 && errno == EINTR);
        if (r != 1) fail(125, "aborted by tbox before start");
        close(s->sync_fd);
    }
    /* The stages, in youki's order: the bounding set while we still hold
     * CAP_SETPCAP, then the user, then the remaining capability sets,
     * no_new_privs, and seccomp last, right before exec (or first, while
     * CAP_SYS_ADMIN allows loading it without no_new_privs). */
    apply_rlimits(s);
    if (s->seccomp_fd >= 0) explain("seccomp: system calls the container has no use for fail with EPERM", "seccomp load (filter from config.json)");
    if (!s->no_new_privs) load_seccomp();
    if (s->caps.set)
        explain("capabilities: root in the container keeps only these powers (the rest of root's are dropped)",
                "capabilities bounding=%llx effective=%llx", s->caps.bounding, s->caps.effective);
    drop_bounding(s);
    if (s->user) {
        unsigned uid, gid;
        if (sscanf(s->user, "%u:%u", &uid, &gid) != 2) fail(125, "bad --user %s", s->user);
        if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0) fail(125, "set user %s: %s", s->user, strerror(errno));
    }
    apply_caps(s);
    if (s->no_new_privs) explain("no setuid binary can gain privileges", "prctl(PR_SET_NO_NEW_PRIVS, 1)");
    if (s->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail(125, "no_new_privs: %s", strerror(errno));
    load_seccomp();
    for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
    if (s->init) run_init();

    /* Only now, inside the container, does its environment apply; execvp
     * then searches the container's PATH. */
    if (s->envp) environ = s->envp;
    explain("the container's command, as pid 1", "exec %s", s->argv[0]);
    execvp(s->argv[0], s->argv);
    int e = errno;
    if (e == ENOENT)
        fail(127, "exec: \"%s\": %s", s->argv[0],
             strchr(s->argv[0], '/') ? "no such file or directory" : "executable file not found in $PATH");
    fail(126, "exec: \"%s\": %s", s->argv[0], strerror(e));
}

