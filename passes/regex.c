/* regex.c — the regular expressions of quantize's by=regex_name entries, in MASE's reading:
 * Python's `re.fullmatch(pattern, node_name)` (chop/passes/graph/utils.py, match_a_pattern).
 *
 * With PCRE2 (meson option pcre2) the dialect is Perl's, which Python's `re` follows: classes
 * \d \w \s, lazy and possessive quantifiers, (?:...), lookarounds, (?P<name>...) groups and
 * back references; PCRE2_ALT_BSUX reads \xhh and \uhhhh as Python does.  A match must span
 * the whole name (PCRE2_ANCHORED | PCRE2_ENDANCHORED: fullmatch).  Matching is bounded (match
 * and depth limits), so no pattern can hang a run; a pattern that hits a limit matches nothing.
 *
 * Without PCRE2 the pattern is a POSIX extended regular expression (regcomp), also over the
 * whole name; pass_regex_dialect says which one a build has, and messages name it. */
#include <stdio.h>
#include <string.h>

#include "passes.h"

#ifdef JSCC_HAVE_PCRE2
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#else
#include <regex.h>
#endif

struct PassRegex {
#ifdef JSCC_HAVE_PCRE2
  pcre2_code *code;
  pcre2_match_data *md;
  pcre2_match_context *mc;
#else
  regex_t re;
#endif
};

#ifdef JSCC_HAVE_PCRE2

const char *pass_regex_dialect(void) {
  return "Python's dialect, through PCRE2";
}

Status pass_regex_compile(const char *pat, PassRegex **out, char *err, size_t errlen) {
  *out = NULL;
  PassRegex *r = ir_calloc(1, sizeof *r);
  if (!r) return JS_ENOMEM;
  int code = 0;
  PCRE2_SIZE off = 0;
  r->code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
                          PCRE2_ANCHORED | PCRE2_ENDANCHORED | PCRE2_ALT_BSUX | PCRE2_NEVER_BACKSLASH_C, &code, &off,
                          NULL);
  if (!r->code) {
    PCRE2_UCHAR msg[160];
    if (pcre2_get_error_message(code, msg, sizeof msg) < 0) snprintf((char *)msg, sizeof msg, "error %d", code);
    snprintf(err, errlen, "%s at offset %zu", (const char *)msg, (size_t)off);
    ir_free(r);
    return code == PCRE2_ERROR_HEAPLIMIT || code == PCRE2_ERROR_NOMEMORY ? JS_ENOMEM : JS_ERR;
  }
  r->md = pcre2_match_data_create_from_pattern(r->code, NULL);
  r->mc = pcre2_match_context_create(NULL);
  if (!r->md || !r->mc) {
    pass_regex_free(r);
    return JS_ENOMEM;
  }
  pcre2_set_match_limit(r->mc, 1000000);
  pcre2_set_depth_limit(r->mc, 10000);
  *out = r;
  return JS_OK;
}

bool pass_regex_fullmatch(const PassRegex *r, const char *s) {
  if (!r) return false;
  int rc = pcre2_match(r->code, (PCRE2_SPTR)s, strlen(s), 0, 0, r->md, r->mc);
  return rc >= 0;
}

void pass_regex_free(PassRegex *r) {
  if (!r) return;
  pcre2_match_context_free(r->mc);
  pcre2_match_data_free(r->md);
  pcre2_code_free(r->code);
  ir_free(r);
}

#else /* POSIX */

const char *pass_regex_dialect(void) {
  return "POSIX extended dialect: this jscc is built without PCRE2, so not Python's";
}

Status pass_regex_compile(const char *pat, PassRegex **out, char *err, size_t errlen) {
  *out = NULL;
  size_t len = strlen(pat);
  char *full = ir_malloc(len + 5);
  PassRegex *r = ir_calloc(1, sizeof *r);
  if (!full || !r) {
    ir_free(full);
    ir_free(r);
    return JS_ENOMEM;
  }
  snprintf(full, len + 5, "^(%s)$", pat);
  int rc = regcomp(&r->re, full, REG_EXTENDED | REG_NOSUB);
  ir_free(full);
  if (rc) {
    regerror(rc, &r->re, err, errlen);
    ir_free(r);
    return rc == REG_ESPACE ? JS_ENOMEM : JS_ERR;
  }
  *out = r;
  return JS_OK;
}

bool pass_regex_fullmatch(const PassRegex *r, const char *s) {
  return r && regexec(&r->re, s, 0, NULL, 0) == 0;
}

void pass_regex_free(PassRegex *r) {
  if (!r) return;
  regfree(&r->re);
  ir_free(r);
}

#endif
