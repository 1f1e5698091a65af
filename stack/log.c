/* Logging to stderr or syslog (see log.h). */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

/* Written by log_setup() before threads start, read-only afterwards. */
static enum log_level cur_level = LOG_L_INFO;
static enum log_target cur_target = LOG_T_STDERR;

static const char *const names[LOG_L_COUNT] = {"err", "warn", "info", "debug"};

void
log_setup(enum log_level level, enum log_target target, const char *ident)
{
	cur_level = level < LOG_L_COUNT ? level : LOG_L_DEBUG;
	cur_target = target;
	if (target == LOG_T_SYSLOG)
		openlog(ident ? ident : "tandem", LOG_PID | LOG_NDELAY,
			LOG_DAEMON);
}

enum log_level
log_level_get(void)
{
	return cur_level;
}

const char *
log_level_name(enum log_level l)
{
	return l < LOG_L_COUNT ? names[l] : "?";
}

int
log_level_parse(const char *s, enum log_level *l)
{
	int i;

	for (i = 0; i < LOG_L_COUNT; i++) {
		if (strcmp(s, names[i]) == 0) {
			*l = (enum log_level)i;
			return 0;
		}
	}
	return EINVAL;
}

void
log_vwrite(enum log_level l, const char *module, const char *prefix,
	   const char *fmt, va_list ap)
{
	static const int prio[LOG_L_COUNT] = {LOG_ERR, LOG_WARNING, LOG_INFO,
					      LOG_DEBUG};
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (cur_target == LOG_T_SYSLOG) {
		syslog(prio[l < LOG_L_COUNT ? l : LOG_L_DEBUG], "%s: %s%s%s",
		       module, prefix ? prefix : "", prefix ? " " : "", msg);
		return;
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		/* one fprintf per line keeps lines whole across threads */
		fprintf(stderr, "%s.%03ldZ %-5s %s: %s%s%s\n", when,
			ts.tv_nsec / 1000000, log_level_name(l), module,
			prefix ? prefix : "", prefix ? " " : "", msg);
	}
}

void
log_write(enum log_level l, const char *module, const char *prefix,
	  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(l, module, prefix, fmt, ap);
	va_end(ap);
}
