/*
 * report.c - JUnit XML and Markdown reports of a TestRun (contract section 1
 * shape, results[] as written by mt_run).
 *
 * Constraint: every string in a report comes from user input (test names,
 * failure messages quoting response bodies), so XML output escapes the five
 * special characters and drops the control characters XML 1.0 cannot carry at
 * all, and Markdown cells escape '|' and line breaks - a report must stay
 * well formed whatever the collection contains.
 */
#include "tester_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
xml_escape(mt_buf *b, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&': mt_buf_puts(b, "&amp;"); break;
		case '<': mt_buf_puts(b, "&lt;"); break;
		case '>': mt_buf_puts(b, "&gt;"); break;
		case '"': mt_buf_puts(b, "&quot;"); break;
		case '\'': mt_buf_puts(b, "&apos;"); break;
		case '\t': mt_buf_puts(b, "&#9;"); break;
		case '\n': mt_buf_puts(b, "&#10;"); break;
		case '\r': mt_buf_puts(b, "&#13;"); break;
		default:
			if (c < 0x20)
				mt_buf_puts(b, "\xEF\xBF\xBD"); /* not representable in XML 1.0 */
			else
				mt_buf_add(b, s, 1);
		}
	}
}

static const char *
str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static long long
num(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? (long long)json_integer_value(v) : json_is_real(v) ? (long long)json_real_value(v) : 0;
}

static void
suite_name(mt_buf *b, const json_t *r)
{
	mt_buf n = {0};
	char *s;

	if (*str(r, "folder"))
		mt_buf_printf(&n, "%s/", str(r, "folder"));
	mt_buf_puts(&n, str(r, "name"));
	s = mt_buf_take(&n);
	xml_escape(b, s);
	free(s);
}

char *
mt_report_junit(const json_t *tr)
{
	mt_buf b = {0};
	const json_t *results = json_object_get(tr, "results");
	size_t i;
	json_t *r;
	const char *name = *str(tr, "collectionName") ? str(tr, "collectionName") : "collection";

	mt_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"");
	xml_escape(&b, name);
	mt_buf_printf(&b, "\" tests=\"%lld\" failures=\"%lld\" skipped=\"%lld\" time=\"%.3f\">\n", num(tr, "totalTests"),
	              num(tr, "failedTests"), num(tr, "skippedTests"), (double)num(tr, "duration") / 1000.0);
	json_array_foreach(results, i, r) {
		const json_t *as = json_object_get(r, "assertions");
		long nf = 0, ns = 0, ne = *str(r, "error") && json_array_size(as) == 0 ? 1 : 0;
		size_t k;
		json_t *a;

		json_array_foreach(as, k, a) {
			if (json_is_true(json_object_get(a, "skipped")))
				ns++;
			else if (!json_is_true(json_object_get(a, "passed")))
				nf++;
		}
		mt_buf_puts(&b, "  <testsuite name=\"");
		suite_name(&b, r);
		mt_buf_printf(&b, "\" tests=\"%zu\" failures=\"%ld\" errors=\"%ld\" skipped=\"%ld\" time=\"%.3f\">\n",
		              json_array_size(as) + (size_t)ne, nf, ne, ns,
		              json_real_value(json_object_get(r, "responseTimeMs")) / 1000.0);
		json_array_foreach(as, k, a) {
			mt_buf_puts(&b, "    <testcase name=\"");
			xml_escape(&b, str(a, "name"));
			mt_buf_puts(&b, "\" classname=\"");
			suite_name(&b, r);
			mt_buf_puts(&b, "\"");
			if (json_is_true(json_object_get(a, "skipped"))) {
				mt_buf_puts(&b, "><skipped message=\"");
				xml_escape(&b, str(a, "message"));
				mt_buf_puts(&b, "\"/></testcase>\n");
			} else if (!json_is_true(json_object_get(a, "passed"))) {
				mt_buf_puts(&b, "><failure type=\"AssertionError\" message=\"");
				xml_escape(&b, str(a, "message"));
				mt_buf_puts(&b, "\">");
				xml_escape(&b, str(a, "message"));
				mt_buf_puts(&b, "</failure></testcase>\n");
			} else
				mt_buf_puts(&b, "/>\n");
		}
		if (ne) {
			mt_buf_puts(&b, "    <testcase name=\"request\" classname=\"");
			suite_name(&b, r);
			mt_buf_puts(&b, "\"><error message=\"");
			xml_escape(&b, str(r, "error"));
			mt_buf_puts(&b, "\"/></testcase>\n");
		}
		if (*str(r, "error")) {
			mt_buf_puts(&b, "    <system-err>");
			xml_escape(&b, str(r, "error"));
			mt_buf_puts(&b, "</system-err>\n");
		}
		mt_buf_puts(&b, "  </testsuite>\n");
	}
	mt_buf_puts(&b, "</testsuites>\n");
	return mt_buf_take(&b);
}

/* A Markdown table cell: '|' escaped, line breaks as spaces, at most 300 bytes. */
static void
md_cell(mt_buf *b, const char *s)
{
	size_t n = 0;

	for (; s && *s && n < 300; s++, n++) {
		if (*s == '|')
			mt_buf_puts(b, "\\|");
		else if (*s == '\n' || *s == '\r')
			mt_buf_puts(b, " ");
		else if (*s == '`' || *s == '<' || *s == '>')
			mt_buf_printf(b, "&#%d;", *s);
		else
			mt_buf_add(b, s, 1);
	}
	if (s && *s)
		mt_buf_puts(b, "...");
}

char *
mt_report_markdown(const json_t *tr)
{
	mt_buf b = {0};
	const json_t *results = json_object_get(tr, "results");
	size_t i, k;
	json_t *r, *a;
	bool any;

	mt_buf_puts(&b, "# API test run: ");
	md_cell(&b, *str(tr, "collectionName") ? str(tr, "collectionName") : "collection");
	mt_buf_printf(&b, "\n\n**Status:** %s - %lld tests: %lld passed, %lld failed, %lld skipped; %lld ms\n\n",
	              *str(tr, "status") ? str(tr, "status") : "unknown", num(tr, "totalTests"), num(tr, "passedTests"),
	              num(tr, "failedTests"), num(tr, "skippedTests"), num(tr, "duration"));
	mt_buf_puts(&b, "| Request | Method | HTTP | Time (ms) | Passed | Failed | Skipped |\n"
	                "|---|---|---|---|---|---|---|\n");
	json_array_foreach(results, i, r) {
		long np = 0, nf = 0, ns = 0;

		json_array_foreach(json_object_get(r, "assertions"), k, a) {
			if (json_is_true(json_object_get(a, "skipped")))
				ns++;
			else if (json_is_true(json_object_get(a, "passed")))
				np++;
			else
				nf++;
		}
		mt_buf_puts(&b, "| ");
		if (*str(r, "folder")) {
			md_cell(&b, str(r, "folder"));
			mt_buf_puts(&b, " / ");
		}
		md_cell(&b, str(r, "name"));
		mt_buf_puts(&b, " | ");
		md_cell(&b, str(r, "method"));
		mt_buf_printf(&b, " | %lld | %.1f | %ld | %ld | %ld |\n", num(r, "status"),
		              json_number_value(json_object_get(r, "responseTimeMs")), np, nf, ns);
	}
	any = false;
	json_array_foreach(results, i, r) {
		bool head = false;

		json_array_foreach(json_object_get(r, "assertions"), k, a) {
			if (json_is_true(json_object_get(a, "passed")) || json_is_true(json_object_get(a, "skipped")))
				continue;
			if (!any) {
				mt_buf_puts(&b, "\n## Failures\n");
				any = true;
			}
			if (!head) {
				mt_buf_puts(&b, "\n**");
				md_cell(&b, str(r, "name"));
				mt_buf_puts(&b, "**\n");
				head = true;
			}
			mt_buf_puts(&b, "- ");
			md_cell(&b, str(a, "name"));
			mt_buf_puts(&b, ": ");
			md_cell(&b, str(a, "message"));
			mt_buf_puts(&b, "\n");
		}
		if (*str(r, "error") && json_array_size(json_object_get(r, "assertions")) == 0) {
			if (!any) {
				mt_buf_puts(&b, "\n## Failures\n");
				any = true;
			}
			mt_buf_puts(&b, "\n**");
			md_cell(&b, str(r, "name"));
			mt_buf_puts(&b, "**: ");
			md_cell(&b, str(r, "error"));
			mt_buf_puts(&b, "\n");
		}
	}
	any = false;
	json_array_foreach(results, i, r) {
		json_array_foreach(json_object_get(r, "skipped"), k, a) {
			if (!any) {
				mt_buf_puts(&b, "\n## Skipped script lines (not translated)\n\n| Request | Script | Line | Text | Reason |\n|---|---|---|---|---|\n");
				any = true;
			}
			mt_buf_puts(&b, "| ");
			md_cell(&b, str(r, "name"));
			mt_buf_puts(&b, " | ");
			md_cell(&b, str(a, "script"));
			mt_buf_printf(&b, " | %lld | ", num(a, "line"));
			md_cell(&b, str(a, "text"));
			mt_buf_puts(&b, " | ");
			md_cell(&b, str(a, "reason"));
			mt_buf_puts(&b, " |\n");
		}
	}
	return mt_buf_take(&b);
}

json_t *
mt_result_as_test_run(const json_t *res, const char *collection_name)
{
	const char *status = json_is_true(json_object_get(res, "cancelled")) ? "cancelled"
	                     : json_integer_value(json_object_get(res, "failedTests")) > 0 ? "failed"
	                                                                                  : "passed";

	return json_pack("{s:s, s:s, s:s, s:O, s:O, s:O, s:O, s:O, s:O}", "collectionName",
	                 collection_name ? collection_name : "", "mode", "functional", "status", status, "totalTests",
	                 json_object_get(res, "totalTests"), "passedTests", json_object_get(res, "passedTests"),
	                 "failedTests", json_object_get(res, "failedTests"), "skippedTests",
	                 json_object_get(res, "skippedTests"), "duration", json_object_get(res, "durationMs"), "results",
	                 json_object_get(res, "results"));
}
