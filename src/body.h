/* body.h: request bodies, which are untrusted JSON.
 *
 * Only json-c; no libfcgi, so the parser is unit-tested and fuzzed alone.
 * Errors are sentences that name the field at fault (HTTP 422). */
#ifndef GK_BODY_H
#define GK_BODY_H

#include <stddef.h>

struct json_object;

#define BODY_DEPTH_MAX 16

/* Parses body[0..len) as one JSON object. Returns GK_OK with *root owned by
 * the caller (release with body_free), or GK_ERR with *why set. */
int body_parse_object(const char *body, size_t len, struct json_object **root, const char **why);

/* Looks up a string member called name, or alt_name when name is absent
 * (alt_name may be NULL). GK_OK: *value points into root. Absent: GK_OK with
 * *value NULL when optional, else GK_ERR. Present but not a string: GK_ERR.
 * A string holding a NUL character is refused too, so a C comparison sees
 * the whole value. why receives "Field 'name' is required", "... must be a
 * string" or "... must not contain NUL characters". */
int body_get_string(struct json_object *root, const char *name, const char *alt_name, int required,
		    const char **value, size_t *len, char *why, size_t whylen);

/* Wipes every string in the tree (it may hold an API key), then frees it. */
void body_free(struct json_object *root);

#endif
