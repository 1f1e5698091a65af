/* Logging: level macros with printf checking, a module tag per file and an
   optional per-call prefix ("[call-id/leg]"). */
#ifndef TANDEM_LOG_H
#define TANDEM_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum log_level {
	LOG_L_ERR,   /* something failed that needs an operator */
	LOG_L_WARN,  /* unexpected input or a degraded state */
	LOG_L_INFO,  /* call-level events; numbers masked */
	LOG_L_DEBUG, /* every state transition */
	LOG_L_COUNT
};

/* Where lines go. Set once at start-up, before any thread runs, and only
   read afterwards (the one process-wide setting we allow). */
enum log_target { LOG_T_STDERR, LOG_T_SYSLOG };

void log_setup(enum log_level level, enum log_target target, const char *ident);
enum log_level log_level_get(void);
const char *log_level_name(enum log_level l);
/* Parse "err", "warn", "info", "debug"; returns 0 or EINVAL. */
int log_level_parse(const char *s, enum log_level *l);

/* Write one line: "LEVEL module: [prefix] message". prefix may be NULL. */
void log_write(enum log_level l, const char *module, const char *prefix,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void log_vwrite(enum log_level l, const char *module, const char *prefix,
		const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));

/* Each .c file defines LOG_MODULE before including this header. */
#ifndef LOG_MODULE
#define LOG_MODULE "tandem"
#endif

#define LOG_AT(l, pfx, ...)                                                    \
	do {                                                                   \
		if ((l) <= log_level_get())                                    \
			log_write((l), LOG_MODULE, (pfx), __VA_ARGS__);        \
	} while (0)

#define LOG_ERR(...) LOG_AT(LOG_L_ERR, NULL, __VA_ARGS__)
#define LOG_WARN(...) LOG_AT(LOG_L_WARN, NULL, __VA_ARGS__)
#define LOG_INFO(...) LOG_AT(LOG_L_INFO, NULL, __VA_ARGS__)
#define LOG_DBG(...) LOG_AT(LOG_L_DEBUG, NULL, __VA_ARGS__)
/* With a per-call prefix, e.g. "[3f2a@host/A]". */
#define LOGP_ERR(pfx, ...) LOG_AT(LOG_L_ERR, (pfx), __VA_ARGS__)
#define LOGP_WARN(pfx, ...) LOG_AT(LOG_L_WARN, (pfx), __VA_ARGS__)
#define LOGP_INFO(pfx, ...) LOG_AT(LOG_L_INFO, (pfx), __VA_ARGS__)
#define LOGP_DBG(pfx, ...) LOG_AT(LOG_L_DEBUG, (pfx), __VA_ARGS__)

#endif
