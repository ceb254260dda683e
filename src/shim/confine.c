/*
 * Confinement of the container's process, applied by pid 1 (or an exec'd
 * process) just before exec: capabilities in all five sets, and masked and
 * read-only paths in the container's view. tbox writes what to apply in
 * config.json (process.capabilities, linux.maskedPaths, linux.readonlyPaths);
 * the launcher hands it over as flags.
 */
#define _GNU_SOURCE
#include "shim.h"
#include <linux/capability.h>

/* The kernel's last capability: bits above it are not ours to drop. */
static int last_cap(void) {
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    char buf[16] = {0};
    if (fd >= 0) {
        if (read(fd, buf, sizeof buf - 1) < 0) buf[0] = 0;
        close(fd);
    }
    return buf[0] ? atoi(buf) : 40;
}

void drop_bounding(const struct spec *s) {
    if (!s->caps.set) return;
    int last = last_cap();
    for (int cap = 0; cap <= last; cap++) {
        if (s->caps.bounding & (1ULL << cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) fail(125, "drop capability %d from the bounding set: %s", cap, strerror(errno));
    }
}

void apply_caps(const struct spec *s) {
    if (!s->caps.set) return;
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    /* A user other than root keeps none, as in Docker: setuid cleared them
     * already, and asking for them back would fail. */
    int root = getuid() == 0;
    unsigned long long eff = root ? s->caps.effective : 0, prm = root ? s->caps.permitted : 0, inh = s->caps.inheritable;
    data[0].effective = (unsigned)eff;
    data[1].effective = (unsigned)(eff >> 32);
    data[0].permitted = (unsigned)prm;
    data[1].permitted = (unsigned)(prm >> 32);
    data[0].inheritable = (unsigned)inh;
    data[1].inheritable = (unsigned)(inh >> 32);
    if (syscall(SYS_capset, &header, data) < 0) fail(125, "set capabilities: %s", strerror(errno));
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) fail(125, "clear ambient capabilities: %s", strerror(errno));
    for (int cap = 0; cap < 64; cap++)
        if ((s->caps.ambient & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
            fail(125, "raise ambient capability %d: %s", cap, strerror(errno));
}

/* After pivot_root, so every path is the container's own. A path the host
 * lacks is skipped, as runc does. */
void mask_paths(const struct spec *s) {
    for (int i = 0; i < s->nmasked; i++) {
        struct stat st;
        if (stat(s->masked[i], &st) < 0) continue;
        int rc = S_ISDIR(st.st_mode) ? mount("tmpfs", s->masked[i], "tmpfs", MS_RDONLY, "size=0")
                                      : mount("/dev/null", s->masked[i], NULL, MS_BIND, NULL);
        if (rc < 0) fail(125, "mask %s: %s", s->masked[i], strerror(errno));
    }
    for (int i = 0; i < s->nreadonly; i++) {
        if (access(s->readonly[i], F_OK) < 0) continue;
        if (mount(s->readonly[i], s->readonly[i], NULL, MS_BIND | MS_REC, NULL) < 0 ||
            mount(NULL, s->readonly[i], NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
            fail(125, "make %s read-only: %s", s->readonly[i], strerror(errno));
    }
}
