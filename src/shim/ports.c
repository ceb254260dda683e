/*
 * Published host ports, held by the monitor for as long as the container
 * runs. The firewall's DNAT does the forwarding; this socket, bound in the
 * host's network namespace and never listened on, is the claim: no other
 * process (nor another tbox data root, which has a database of its own) can
 * bind the port meanwhile, and the claim ends with the monitor, whatever
 * kills it. Docker keeps its published ports bound for the same reason.
 * No SO_REUSEADDR: with it, two bound-but-idle sockets could share a port.
 */
#define _GNU_SOURCE
#include "shim.h"
#include <arpa/inet.h>
#include <netinet/in.h>

int hold_ports(const struct spec *s, char *err, size_t len) {
    for (int i = 0; i < s->npublish; i++) {
        char proto[8], ip[64];
        unsigned port;
        struct sockaddr_in addr;
        memset(&addr, 0, sizeof addr);
        addr.sin_family = AF_INET;
        if (sscanf(s->publish[i], "%7[a-z]:%63[0-9.]:%u", proto, ip, &port) != 3 || port == 0 || port > 65535 ||
            inet_pton(AF_INET, ip, &addr.sin_addr) != 1 || (strcmp(proto, "tcp") && strcmp(proto, "udp"))) {
            snprintf(err, len, "invalid --publish %s", s->publish[i]);
            return -1;
        }
        addr.sin_port = htons((unsigned short)port);
        int fd = socket(AF_INET, (strcmp(proto, "tcp") ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
            snprintf(err, len, "Bind for %s:%u/%s failed: %s", ip, port, proto,
                     errno == EADDRINUSE ? "the port is in use on this host by another process" : strerror(errno));
            return -1;
        }
        explain("a published port is held so no other process can take it; DNAT forwards its traffic",
                "bind %s %s:%u (held open, never listened on)", proto, ip, port);
    }
    return 0;
}
