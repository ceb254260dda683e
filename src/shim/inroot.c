/*
 * Paths inside the container's root, resolved as if that root were "/".
 *
 * Before pivot_root the shim still sees the host, and the image (or a
 * container that changed its own files before a restart) decides what
 * /etc, /proc or /dev are: a symlink to "/" or to "../../.." would make a
 * plain path string land on the host (runc's CVE-2021-30465 class). So
 * every mount target is opened with openat2(RESOLVE_IN_ROOT): ".." and
 * absolute symlinks stop at the container's root, magic links are refused,
 * and the mount goes through /proc/self/fd/N of the fd that was opened, so
 * nothing is resolved twice.
 */
#define _GNU_SOURCE
#include "shim.h"
#include <linux/openat2.h>

int open_in_root(int rootfd, const char *rel, int flags) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (unsigned long long)(flags | O_CLOEXEC);
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    int fd;
    /* EAGAIN: a rename raced the lookup; the kernel asks us to retry. */
    do fd = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof how); while (fd < 0 && errno == EAGAIN);
    return fd;
}

static const char *relative(const char *path) {
    while (*path == '/') path++;
    return *path ? path : ".";
}

static int mkdirs_depth(int rootfd, const char *path, int depth);

/* `name` in `dir` (at `prefix` in the root) is a symlink to nowhere yet:
 * make what it points to, inside the root, as mkdir -p would through it. */
static int mkdirs_through_link(int rootfd, int dir, const char *prefix, const char *name, int depth) {
    char target[4096], joined[8192];
    ssize_t n = readlinkat(dir, name, target, sizeof target - 1);
    if (n < 0) return -1;
    target[n] = 0;
    if (target[0] == '/') snprintf(joined, sizeof joined, "%s", target);
    else {
        /* relative to the link's own directory: prefix without its last part */
        const char *slash = strrchr(prefix, '/');
        snprintf(joined, sizeof joined, "%.*s/%s", slash ? (int)(slash - prefix) : 0, prefix, target);
    }
    int fd = mkdirs_depth(rootfd, joined, depth + 1);
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

/* mkdir -p inside the root: an O_PATH fd of the directory, or -1. */
int mkdirs_in_root(int rootfd, const char *path) {
    return mkdirs_depth(rootfd, path, 0);
}

static int mkdirs_depth(int rootfd, const char *path, int depth) {
    if (depth > 8) { errno = ELOOP; return -1; }
    char prefix[4096];
    const char *rel = relative(path);
    if (strlen(rel) >= sizeof prefix) { errno = ENAMETOOLONG; return -1; }
    int dir = open_in_root(rootfd, ".", O_PATH | O_DIRECTORY);
    size_t len = 0;
    while (dir >= 0 && rel[len]) {
        size_t end = len;
        while (rel[end] && rel[end] != '/') end++;
        char name[256];
        size_t n = end - len;
        if (n >= sizeof name) { close(dir); errno = ENAMETOOLONG; return -1; }
        memcpy(name, rel + len, n);
        name[n] = 0;
        memcpy(prefix, rel, end);
        prefix[end] = 0;
        len = rel[end] ? end + 1 : end;
        if (n == 0 || !strcmp(name, ".")) continue;
        int next = open_in_root(rootfd, prefix, O_PATH | O_DIRECTORY);
        if (next < 0 && errno == ENOENT) {
            /* `name` is one component created below the resolved parent, so
             * mkdirat cannot leave the root either. */
            if (mkdirat(dir, name, 0755) < 0 &&
                (errno != EEXIST || mkdirs_through_link(rootfd, dir, prefix, name, depth) < 0)) {
                int saved = errno;
                close(dir);
                errno = saved;
                return -1;
            }
            next = open_in_root(rootfd, prefix, O_PATH | O_DIRECTORY);
        }
        close(dir);
        dir = next;
    }
    return dir;
}

/* "/proc/self/fd/N": how mount(2) is pointed at an fd we resolved. */
void fd_path(char *out, size_t len, int fd) {
    snprintf(out, len, "/proc/self/fd/%d", fd);
}

/* The resolved parent of `path` inside the root, and its last component. */
static int parent_in_root(int rootfd, const char *path, char *leaf, size_t len) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", relative(path));
    char *slash = strrchr(dir, '/');
    const char *last = slash ? slash + 1 : dir;
    if (strlen(last) >= len) { errno = ENAMETOOLONG; return -1; }
    memcpy(leaf, last, strlen(last) + 1);
    if (slash) *slash = 0;
    return mkdirs_in_root(rootfd, slash ? dir : ".");
}

/* A directory mount target (/proc, /sys, /dev): made if missing, and never
 * a symlink itself (runc refuses a symlinked /proc too: CVE-2019-19921). */
int mount_dir_in_root(int rootfd, const char *path) {
    char leaf[256];
    int parent = parent_in_root(rootfd, path, leaf, sizeof leaf);
    if (parent < 0) return -1;
    struct stat st;
    int is_link = fstatat(parent, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode);
    close(parent);
    if (is_link) { errno = ELOOP; return -1; }
    return mkdirs_in_root(rootfd, path);
}

/* A file mount target (the bind of /etc/hosts and friends): its directory is
 * resolved in the root, and whatever stands at the leaf that is not a plain
 * file (a symlink above all) is replaced by an empty file. */
int mount_file_in_root(int rootfd, const char *path) {
    char leaf[256];
    int parent = parent_in_root(rootfd, path, leaf, sizeof leaf);
    if (parent < 0) return -1;
    struct stat st;
    if (fstatat(parent, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode) &&
        unlinkat(parent, leaf, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0) {
        close(parent);
        return -1;
    }
    int fd = openat(parent, leaf, O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) {
        close(fd);
        fd = openat(parent, leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    int saved = errno;
    close(parent);
    errno = saved;
    return fd;
}
