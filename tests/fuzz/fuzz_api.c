/* libFuzzer target: the management API's JSON request bodies (issue 10
   item 1): api_body_parse() on arbitrary bytes, then what DELETE
   /calls/{id} takes from the body (api_hangup_reason()). Invariants: an
   accepted body is a JSON object; a reason accepted is one a Reason
   header may carry; every refusal has a message; nothing leaks (ASan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "b2bua/api_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[200] = "";
	const char *reason = NULL, *why = NULL;
	json_t *v = NULL;
	int code =
		api_body_parse((const char *)data, size, &v, msg, sizeof(msg));

	if (code) {
		if ((code != 400 && code != 413) || !msg[0] || v)
			abort();
		return 0;
	}
	if (size && (!v || !json_is_object(v)))
		abort();
	if (api_hangup_reason(v, &reason, &why)) {
		if (!why || reason)
			abort();
	} else if (reason &&
		   (!api_reason_ok(reason) || strlen(reason) > API_REASON_MAX))
		abort();
	json_decref(v);
	return 0;
}
