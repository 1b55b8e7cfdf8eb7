/* redact.h: takes an API key out of text a provider sent.
 *
 * Every text that comes from a provider and can reach a client or a log (the
 * message of an error body, a streamed error event, the detail of a verify)
 * passes through redact_key() with the key the call carried, because a
 * provider may echo that key, whole or in part ("sk-proj-abcd...", a key cut
 * at some length, its last characters):
 *
 *   - a key of REDACT_RUN (8) characters or more: every run of 8 or more
 *     consecutive characters of the key found in the text is replaced, so
 *     no 8 consecutive characters of the key are left anywhere;
 *   - a shorter key: every whole occurrence of it is replaced. A part of a
 *     key that short says little, and redacting runs of 1 to 7 characters
 *     would erase ordinary words.
 *
 * Matching ignores ASCII case, so a provider that upper-cases what it
 * quotes is caught too. Each maximal replaced stretch (overlapping and
 * adjacent runs merge) becomes one REDACT_MARK.
 *
 * Pure: no I/O, no global state; the copies of the key's runs it makes are
 * wiped before it returns. */
#ifndef GK_REDACT_H
#define GK_REDACT_H

#include <stddef.h>

#define REDACT_RUN 8
#define REDACT_MARK "[redacted]"

/* Writes text[0..len) with the key's runs replaced into out: at most
 * outlen - 1 bytes and a NUL (outlen must be at least 1), cut after the
 * last byte or whole mark that fits. Returns the bytes written.
 *
 * The result never holds a run of the key, whatever the inputs: when a mark
 * would form one with its neighbours (only a key that itself contains
 * letters of the mark could do that), or memory runs out, out is left empty
 * and 0 returned. An empty key leaves the text as it is. */
size_t redact_key(const char *text, size_t len, const char *key, size_t key_len, char *out, size_t outlen);

#endif
