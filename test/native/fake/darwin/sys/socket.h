/* macOS's <sys/socket.h> has no SO_PROTOCOL: the shim falls back to
 * getsockname and SO_TYPE to tell TCP from a Unix domain socket. */
#include_next <sys/socket.h>
#undef SO_PROTOCOL
