#include "http.h"

#include <limits.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "num.h"
#include "status.h"

void http_response_init(struct http_response *resp)
{
	resp->status = 500;
	resp->header_count = 0;
	resp->body = NULL;
	resp->raw_body = NULL;
	resp->raw_len = 0;
	resp->streamed = 0;
}

void http_response_release(struct http_response *resp)
{
	json_object_put(resp->body);
	http_response_init(resp);
}

int http_header_add(struct http_response *resp, const char *name, const char *value)
{
	if (resp->header_count >= HTTP_HEADERS_MAX)
		return GK_ERR;
	resp->headers[resp->header_count].name = name;
	resp->headers[resp->header_count].value = value;
	resp->header_count++;
	return GK_OK;
}

int http_fail(struct http_response *resp, int status, const char *detail)
{
	struct json_object *body = json_object_new_object();

	json_object_object_add(body, "detail", json_object_new_string(detail));
	json_object_put(resp->body);
	resp->body = body;
	resp->raw_body = NULL;
	resp->status = status;
	return GK_ERR;
}

int http_failf(struct http_response *resp, struct arena *arena, int status, const char *fmt, ...)
{
	va_list ap;
	char *detail;

	va_start(ap, fmt);
	detail = arena_vprintf(arena, fmt, ap);
	va_end(ap);
	return http_fail(resp, status, detail ? detail : http_reason(status));
}

int http_ok_raw(struct http_response *resp, const char *body, size_t len)
{
	json_object_put(resp->body);
	resp->body = NULL;
	resp->raw_body = body;
	resp->raw_len = len;
	resp->status = 200;
	return GK_OK;
}

int http_ok(struct http_response *resp, struct json_object *obj)
{
	json_object_put(resp->body);
	resp->body = obj;
	resp->raw_body = NULL;
	resp->status = 200;
	return GK_OK;
}

const char *http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Content Too Large";
	case 415:
		return "Unsupported Media Type";
	case 422:
		return "Unprocessable Content";
	case 429:
		return "Too Many Requests";
	case 499:
		return "Client Closed Request";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "Unknown";
	}
}

int http_content_type_is_json(const char *content_type)
{
	static const char json[] = "application/json";
	const char *rest;

	if (!content_type)
		return 0;
	while (*content_type == ' ' || *content_type == '\t')
		content_type++;
	if (strncasecmp(content_type, json, sizeof(json) - 1) != 0)
		return 0;
	rest = content_type + sizeof(json) - 1;
	while (*rest == ' ' || *rest == '\t')
		rest++;
	return *rest == '\0' || *rest == ';';
}

int http_parse_content_length(const char *value, size_t *out)
{
	long long n;

	if (!value || !*value) {
		*out = 0;
		return GK_OK;
	}
	/* a length past LLONG_MAX is refused as not a number: no body is that big */
	if (num_parse(value, 0, SIZE_MAX < (unsigned long long)LLONG_MAX ? (long long)SIZE_MAX : LLONG_MAX,
		      &n, NULL, 0) != GK_OK)
		return GK_ERR;
	*out = (size_t)n;
	return GK_OK;
}

int http_origin_listed(const char *origin, const char *list)
{
	size_t origin_len = strlen(origin);

	while (*list) {
		size_t len;

		list += strspn(list, " ,\t");
		len = strcspn(list, " ,\t");
		if (len && len == origin_len && strncmp(list, origin, len) == 0)
			return 1;
		list += len;
	}
	return 0;
}

static int origin_is_own(const char *origin, const char *scheme, const char *host)
{
	size_t scheme_len;

	if (!host || !*host)
		return 0;
	if (!scheme || !*scheme)
		scheme = "http";
	scheme_len = strlen(scheme);
	return strncasecmp(origin, scheme, scheme_len) == 0 && strncmp(origin + scheme_len, "://", 3) == 0 &&
	       strcasecmp(origin + scheme_len + 3, host) == 0;
}

int http_origin_allowed(const char *origin, const char *scheme, const char *host, const char *allowed)
{
	if (!origin)
		return 1;
	if (allowed && *allowed)
		return http_origin_listed(origin, allowed);
	return origin_is_own(origin, scheme, host);
}

int http_body_length(const struct http_request *req, struct http_response *resp, size_t *len)
{
	if (http_parse_content_length(req->content_length, len) != GK_OK)
		return http_fail(resp, 400, "Content-Length is not a valid number");
	if (*len > HTTP_BODY_MAX)
		return http_fail(resp, 413, "Request body is larger than " GK_STR(HTTP_BODY_MAX_KIB) " KiB");
	return GK_OK;
}

int http_read_body(struct http_request *req, struct http_response *resp, size_t len, char **body)
{
	char *buf = arena_alloc(req->arena, len + 1);
	size_t got = 0;

	if (!buf)
		return http_fail(resp, 500, "Out of memory");
	while (got < len) {
		ssize_t n = req->read_body ? req->read_body(req->read_ctx, buf + got, len - got) : -1;

		if (n <= 0)
			return http_fail(resp, 400, "Request body is shorter than its Content-Length");
		got += (size_t)n;
	}
	buf[len] = '\0';
	*body = buf;
	return GK_OK;
}
