/* FreeBSD's <sys/socket.h> has SO_PROTOCOL (0x1016); Linux's number is
 * kept, since the check runs against Linux sockets. */
#include_next <sys/socket.h>
