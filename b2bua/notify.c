/* sd_notify through Debian's libsystemd (libsystemd-dev): it handles path
   and abstract ('@') $NOTIFY_SOCKET names and credentials. */
#include <stdarg.h>
#include <stdio.h>

#include <systemd/sd-daemon.h>

#include "notify.h"

int
tnotify(const char *state)
{
	return sd_notify(0, state);
}

int
tnotifyf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -75; /* -EOVERFLOW */
	return tnotify(buf);
}
