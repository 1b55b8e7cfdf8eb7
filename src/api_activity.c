/* api_activity.c: GET /api/users/me/api-keys/activity, the caller's
 * activity stream newest first, a page at a time (docs/api.md). */
#include <string.h>

#include "activity.h"
#include "api_handlers.h"
#include "status.h"

/* One entry: "id" and the fields it has, "result" and "status" only when
 * present. */
static void write_entry(struct jsonw *w, const struct keystore_entry *e)
{
	jsonw_object_begin(w);
	jsonw_key(w, "id");
	jsonw_string(w, e->id);
	for (int f = 0; f < KEYSTORE_EVENT_FIELDS; f++) {
		if (!e->value[f] && (strcmp(keystore_event_names[f], "result") == 0 ||
				     strcmp(keystore_event_names[f], "status") == 0))
			continue;
		jsonw_key(w, keystore_event_names[f]);
		jsonw_string(w, e->value[f]);
	}
	jsonw_object_end(w);
}

int api_activity_list(struct exchange *ex)
{
	struct activity_page page;
	struct keystore_entry *entries;
	size_t count, shown;
	int more;
	char why[96];
	struct jsonw w;
	int rc;

	if (activity_parse_page(ex->req->query, &page, why, sizeof(why)) != GK_OK)
		return http_fail(ex->resp, 400, why);
	/* one more than the page: whether anything older is left */
	entries = arena_alloc(ex->req->arena, ((size_t)page.limit + 1) * sizeof(*entries));
	if (!entries)
		return http_fail(ex->resp, 500, "Out of memory");
	rc = keystore_activity_read(&ex->app->store, ex->req->arena, ex->user,
				    page.cursor[0] ? page.cursor : NULL, (size_t)page.limit + 1, entries,
				    &count);
	if (rc != GK_OK)
		return exchange_store_failed(ex, rc, "Unable to read the activity");
	more = count > (size_t)page.limit;
	shown = more ? (size_t)page.limit : count;
	exchange_writer(ex, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "entries");
	jsonw_array_begin(&w);
	for (size_t i = 0; i < shown; i++)
		write_entry(&w, &entries[i]);
	jsonw_array_end(&w);
	jsonw_key(&w, "cursor");
	jsonw_string(&w, more ? entries[shown - 1].id : NULL);
	jsonw_object_end(&w);
	return exchange_reply(ex, &w);
}
