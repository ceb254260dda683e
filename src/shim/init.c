/*
 * Process limits (--ulimit, config.json's process.rlimits) and --init.
 *
 * --init: pid 1 stays a tiny init, as Docker's docker-init (tini) is. It
 * forks CMD, passes every signal it gets on to CMD, reaps every orphan that
 * the pid namespace hands it (a shell's background jobs), and exits with
 * CMD's status: its code, or 128+N for a signal, as the monitor reports.
 */
#define _GNU_SOURCE
#include "shim.h"
#include <sys/resource.h>

static const struct { const char *name; int resource; } RLIMITS[] = {
    {"RLIMIT_AS", RLIMIT_AS},         {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},     {"RLIMIT_FSIZE", RLIMIT_FSIZE},     {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME},   {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
};

/* "RLIMIT_NOFILE:1024:2048" (-1 for unlimited); tbox checked the names, the kernel checks the values. */
void apply_rlimits(const struct spec *s) {
    for (int i = 0; i < s->nrlimits; i++) {
        char name[32];
        long long soft, hard;
        if (sscanf(s->rlimits[i], "%31[A-Z_]:%lld:%lld", name, &soft, &hard) != 3) fail(125, "bad --rlimit %s", s->rlimits[i]);
        int resource = -1;
        for (size_t k = 0; k < sizeof RLIMITS / sizeof RLIMITS[0]; k++)
            if (!strcmp(RLIMITS[k].name, name)) resource = RLIMITS[k].resource;
        if (resource < 0) fail(125, "unknown rlimit %s", name);
        struct rlimit rl = {soft < 0 ? RLIM_INFINITY : (rlim_t)soft, hard < 0 ? RLIM_INFINITY : (rlim_t)hard};
        explain("a process limit (--ulimit)", "prlimit --%s=%s", name, s->rlimits[i] + strlen(name) + 1);
        if (setrlimit(resource, &rl) < 0)
            fail(125, "ulimit %s %lld:%lld: %s%s", name, soft, hard, strerror(errno),
                 errno == EPERM ? " (above the hard limit tbox itself has)" : "");
    }
}

static pid_t cmd_pid;

static void pass_on(int sig) {
    if (cmd_pid > 0) kill(cmd_pid, sig);
}

/* Returns in the child, which goes on to exec CMD; pid 1 never returns. */
void run_init(void) {
    explain("a tiny init as pid 1: it passes signals on to CMD and reaps orphans", "fork CMD under init");
    cmd_pid = fork();
    if (cmd_pid < 0) fail(125, "init: fork: %s", strerror(errno));
    if (cmd_pid == 0) return;
    /* tbox learns that CMD started when the error pipe closes at its exec; init
     * never execs, so it lets go of its copy (and of the explain pipe) here. */
    close(err_pipe[1]);
    if (explain_fd >= 0) close(explain_fd);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = pass_on;
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGCHLD && sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &sa, NULL);
    for (;;) {
        int status;
        pid_t p = waitpid(-1, &status, 0);
        if (p < 0 && errno == EINTR) continue;
        if (p < 0) _exit(125);
        if (p != cmd_pid) continue; /* an orphan, reaped */
        if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
        _exit(128 + WTERMSIG(status));
    }
}
