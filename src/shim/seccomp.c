/*
 * The container's seccomp filter, through libseccomp. tbox resolves the
 * profile (Docker's format, against the container's capabilities) into
 * config.json's linux.seccomp, and hands it here as simple lines (see
 * src/container/security/seccomp.ts):
 *   default ACTION ERRNO
 *   ACTION ERRNO SYSCALL NARGS [INDEX OP VALUE VALUE2]...
 * The monitor opens the file while the host's files are in view; the
 * container's process parses it and loads the filter right before exec.
 */
#define _GNU_SOURCE
#include "shim.h"
#include <seccomp.h>

static scmp_filter_ctx ctx;

static int parse_action(const char *name, int errno_ret, uint32_t *out) {
    if (!strcmp(name, "ALLOW")) *out = SCMP_ACT_ALLOW;
    else if (!strcmp(name, "ERRNO")) *out = SCMP_ACT_ERRNO(errno_ret);
    else if (!strcmp(name, "KILL") || !strcmp(name, "KILL_THREAD")) *out = SCMP_ACT_KILL;
    else if (!strcmp(name, "KILL_PROCESS")) *out = SCMP_ACT_KILL_PROCESS;
    else if (!strcmp(name, "TRAP")) *out = SCMP_ACT_TRAP;
    else if (!strcmp(name, "LOG")) *out = SCMP_ACT_LOG;
    else return -1;
    return 0;
}

static int parse_op(const char *name, enum scmp_compare *out) {
    static const struct { const char *name; enum scmp_compare op; } ops[] = {
        {"NE", SCMP_CMP_NE}, {"LT", SCMP_CMP_LT}, {"LE", SCMP_CMP_LE}, {"EQ", SCMP_CMP_EQ},
        {"GE", SCMP_CMP_GE}, {"GT", SCMP_CMP_GT}, {"MASKED_EQ", SCMP_CMP_MASKED_EQ},
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(name, ops[i].name)) { *out = ops[i].op; return 0; }
    return -1;
}

/* Build the filter from the rules; any malformed line refuses the start. */
void prepare_seccomp(int fd) {
    const char *file = "seccomp rules";
    FILE *f = fdopen(fd, "re");
    if (!f) fail(125, "%s: %s", file, strerror(errno));
    char line[1024], action[32], name[80];
    int errno_ret, nargs, n, lineno = 0;
    uint32_t default_action = SCMP_ACT_ALLOW;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (lineno == 1) {
            if (sscanf(line, "default %31s %d", action, &errno_ret) != 2 || parse_action(action, errno_ret, &default_action) < 0) break;
            ctx = seccomp_init(default_action);
            /* no_new_privs is the container's own choice (--security-opt), not libseccomp's. */
            if (!ctx || seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0) break;
            continue;
        }
        uint32_t act;
        if (sscanf(line, "%31s %d %79s %d%n", action, &errno_ret, name, &nargs, &n) != 4 || parse_action(action, errno_ret, &act) < 0 || nargs < 0 || nargs > 6) {
            fail(125, "%s:%d: bad rule", file, lineno);
        }
        struct scmp_arg_cmp args[6];
        const char *p = line + n;
        for (int i = 0; i < nargs; i++) {
            unsigned index;
            char op[16];
            unsigned long long v1, v2;
            int used;
            if (sscanf(p, "%u %15s %llu %llu%n", &index, op, &v1, &v2, &used) != 4 || index > 5 || parse_op(op, &args[i].op) < 0) {
                fail(125, "%s:%d: bad argument", file, lineno);
            }
            args[i].arg = index;
            /* Docker's format: MASKED_EQ has the mask in value, the datum in valueTwo. */
            args[i].datum_a = v1;
            args[i].datum_b = v2;
            p += used;
        }
        int nr = seccomp_syscall_resolve_name(name);
        /* A syscall this architecture lacks; a rule that repeats the default. */
        if (nr == __NR_SCMP_ERROR || act == default_action) continue;
        int rc = seccomp_rule_add_array(ctx, act, nr, (unsigned)nargs, args);
        if (rc < 0) fail(125, "seccomp rule for %s: %s", name, strerror(-rc));
    }
    fclose(f);
    if (!ctx) fail(125, "%s: no default action", file);
}

/* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: then it is
 * loaded before the capabilities are dropped (as runc does); with it, as late
 * as possible. Either way the syscalls left before exec are allowed. */
void load_seccomp(void) {
    if (!ctx) return;
    int rc = seccomp_load(ctx);
    if (rc < 0) fail(125, "load seccomp filter: %s", strerror(-rc));
    seccomp_release(ctx);
    ctx = NULL;
}
