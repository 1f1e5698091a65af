/* Unit tests: b2bua/notify.c (sd_notify datagrams to $NOTIFY_SOCKET): a
   real AF_UNIX datagram socket, by path and by abstract name, receives
   what tandemd sends to systemd. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "b2bua/notify.h"
#include "testutil.h"

/* Bind a datagram socket at name ('@' = abstract); returns the fd. */
static int
listen_at(const char *name)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	CU_ASSERT_FATAL(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", name);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
			  strlen(name) + (name[0] == '@' ? 0 : 1));
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&sa, len), 0);
	return fd;
}

static void
recv_is(int fd, const char *want)
{
	char buf[600];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	CU_ASSERT_FATAL(n >= 0);
	buf[n] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, want);
}

static void
test_path_socket(void)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/tandem-notify-%d", (int)getpid());
	unlink(path);
	fd = listen_at(path);
	setenv("NOTIFY_SOCKET", path, 1);
	CU_ASSERT_EQUAL(tnotify("READY=1"), 1);
	recv_is(fd, "READY=1");
	CU_ASSERT_EQUAL(tnotifyf("STATUS=%d active call(s)", 3), 1);
	recv_is(fd, "STATUS=3 active call(s)");
	CU_ASSERT_EQUAL(tnotify("RELOADING=1"), 1);
	recv_is(fd, "RELOADING=1");
	unsetenv("NOTIFY_SOCKET");
	close(fd);
	unlink(path);
}

static void
test_abstract_socket(void)
{
	char name[64];
	int fd;

	snprintf(name, sizeof(name), "@tandem-notify-%d", (int)getpid());
	fd = listen_at(name);
	setenv("NOTIFY_SOCKET", name, 1);
	CU_ASSERT_EQUAL(tnotify("STOPPING=1"), 1);
	recv_is(fd, "STOPPING=1");
	unsetenv("NOTIFY_SOCKET");
	close(fd);
}

/* Not under systemd: nothing sent, no error; a socket nobody listens on
   is an error. */
static void
test_no_manager(void)
{
	char big[600];

	unsetenv("NOTIFY_SOCKET");
	CU_ASSERT_EQUAL(tnotify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "/nonexistent/notify", 1);
	CU_ASSERT_TRUE(tnotify("READY=1") < 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CU_ASSERT_TRUE(tnotifyf("STATUS=%s", big) < 0);
	unsetenv("NOTIFY_SOCKET");
}

void test_notify_register(void);

void
test_notify_register(void)
{
	CU_pSuite s = tu_suite("notify");

	TU_ADD(s, test_path_socket);
	TU_ADD(s, test_abstract_socket);
	TU_ADD(s, test_no_manager);
}
