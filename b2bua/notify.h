/* Service-manager notification (sd_notify(3), systemd's Type=notify):
   READY=1, RELOADING=1, STOPPING=1 and STATUS= lines sent as one datagram
   to $NOTIFY_SOCKET (a path, or an abstract name starting with '@').
   Without $NOTIFY_SOCKET (not started by systemd) every call is a no-op. */
#ifndef TANDEM_NOTIFY_H
#define TANDEM_NOTIFY_H

/* Send the newline-separated assignments in state. Returns 1 when sent,
   0 when no service manager listens ($NOTIFY_SOCKET unset), or a
   negative errno. */
int tnotify(const char *state);

/* printf-style tnotify(). */
int tnotifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
