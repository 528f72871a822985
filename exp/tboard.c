/* tboard.c — TensorBoard event files: a run's scalars and its hyper-parameters (the HParams tab).
 *
 * The file is what TensorFlow's summary writer produces, so TensorBoard reads it without
 * TensorFlow: TFRecord framing (length, masked CRC32C of the length, data, masked CRC32C of
 * the data) around Event protocol buffers.  The few messages we need are encoded here by
 * hand rather than through a protobuf dependency; the field numbers are those of TensorBoard's
 * compat/proto/event.proto and summary.proto and, for the HParams plugin,
 * plugins/hparams/plugin_data.proto, api.proto and google/protobuf/struct.proto.
 *
 * Records collect in memory and reach the file at tb_flush (once per epoch) or when
 * TB_PENDING_MAX bytes wait, so a training loop makes no system call per scalar.  The first
 * write error (a full disk, a file-size limit) is reported with the path and strerror and
 * leaves the writer failed: every later call returns that error instead of writing a file
 * with a hole in it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exp.h"

#define TB_PENDING_MAX (64 * 1024) /* write out early past this many pending bytes */
#define TB_FILE_VERSION "brain.Event:2"

struct TbWriter {
  int fd;             /* the event file, created O_EXCL so another writer's file is never reused */
  char *path;         /* dir/events.out.tfevents.<secs>.<host>.<pid>.<n> */
  SrcFile file;       /* path as a SrcFile, so messages read "path: error: ..." */
  unsigned char *buf; /* framed records not yet written */
  size_t len;         /* bytes in buf */
  size_t cap;         /* bytes allocated for buf */
  StrBuf ev;          /* scratch: the Event being encoded */
  StrBuf val;         /* scratch: its Summary.Value */
  StrBuf msg;         /* scratch: an HParams message (Experiment, SessionStartInfo, ...) */
  StrBuf data;        /* scratch: the HParamsPluginData around msg */
  Status failed;      /* JS_OK, or the error of the write that failed: later calls return it */
};

/* ---- CRC32C (Castagnoli), as TFRecord frames use ---- */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

/* The byte-at-a-time table of the reflected polynomial 0x82F63B78: entry i is the CRC
 * register after shifting the byte i through it. */
static void crc_table_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    crc_table[i] = c;
  }
}

uint32_t tb_crc32c(uint32_t crc, const void *data, size_t n) {
  pthread_once(&crc_once, crc_table_init);
  const unsigned char *p = data;
  uint32_t c = ~crc;
  for (size_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return ~c;
}

/* TFRecord stores CRCs rotated and offset: a CRC computed over data that itself holds CRCs
 * would otherwise be weak (the CRC of a string with its CRC appended is a constant). */
uint32_t tb_crc_mask(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

/* ---- protocol buffer encoding: varints, tags, and length-delimited fields ---- */

enum { PB_VARINT = 0, PB_FIXED64 = 1, PB_LEN = 2, PB_FIXED32 = 5 };

static size_t pb_varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static void pb_varint(StrBuf *sb, uint64_t v) {
  char b[10];
  size_t n = 0;
  for (; v >= 0x80; v >>= 7) b[n++] = (char)(v | 0x80);
  b[n++] = (char)v;
  sb_putn(sb, b, n);
}

static void pb_tag(StrBuf *sb, int field, int wire) {
  pb_varint(sb, (uint64_t)field << 3 | (uint64_t)wire);
}

/* Bytes a length-delimited field of n payload bytes takes, tag and length included. */
static size_t pb_len_size(int field, size_t n) {
  return pb_varint_size((uint64_t)field << 3) + pb_varint_size(n) + n;
}

/* The tag and length of a length-delimited field; its n bytes follow. */
static void pb_len_head(StrBuf *sb, int field, size_t n) {
  pb_tag(sb, field, PB_LEN);
  pb_varint(sb, n);
}

static void pb_bytes(StrBuf *sb, int field, const void *p, size_t n) {
  pb_len_head(sb, field, n);
  sb_putn(sb, p, n);
}

static void pb_str(StrBuf *sb, int field, const char *s) {
  pb_bytes(sb, field, s, strlen(s));
}

/* int64 and enum fields: negative values as their two's complement (ten bytes), as protoc does. */
static void pb_int(StrBuf *sb, int field, int64_t v) {
  pb_tag(sb, field, PB_VARINT);
  pb_varint(sb, (uint64_t)v);
}

/* Fixed-width fields are little-endian whatever the host. */
static void pb_le(StrBuf *sb, uint64_t v, int nbytes) {
  char b[8];
  for (int i = 0; i < nbytes; i++) b[i] = (char)(v >> (8 * i));
  sb_putn(sb, b, (size_t)nbytes);
}

static void pb_double(StrBuf *sb, int field, double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  pb_tag(sb, field, PB_FIXED64);
  pb_le(sb, u, 8);
}

static void pb_float(StrBuf *sb, int field, float v) {
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  pb_tag(sb, field, PB_FIXED32);
  pb_le(sb, u, 4);
}

/* ---- the file: framing, pending bytes, writes ---- */

static SrcLoc tb_loc(const TbWriter *w) {
  return (SrcLoc){&w->file, 0, 0};
}

/* Report errno's reason and leave the writer failed. */
static Status tb_fail(TbWriter *w, const char *what, Diag *d) {
  diag_error(d, tb_loc(w), "cannot %s: %s", what, strerror(errno));
  w->failed = JS_EIO;
  w->len = 0;
  return JS_EIO;
}

/* A writer that failed refuses further work, saying so; the first message gave the reason. */
static Status tb_usable(TbWriter *w, Diag *d) {
  if (w->failed == JS_OK) return JS_OK;
  diag_error(d, tb_loc(w), "not written: an earlier write to this file failed");
  return w->failed;
}

/* A call the caller got wrong (no tag, a nameless hyper-parameter): nothing is written. */
static Status tb_usage(const TbWriter *w, Diag *d, const char *fmt, ...) JS_PRINTF(3, 4);
static Status tb_usage(const TbWriter *w, Diag *d, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_vreport(d, DIAG_ERROR, tb_loc(w), fmt, ap);
  va_end(ap);
  return JS_EUSAGE;
}

static Status write_pending(TbWriter *w, Diag *d) {
  size_t done = 0;
  while (done < w->len) {
    ssize_t n = write(w->fd, w->buf + done, w->len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return tb_fail(w, "write", d);
    done += (size_t)n;
  }
  w->len = 0;
  return JS_OK;
}

static void put_le(unsigned char *p, uint64_t v, int nbytes) {
  for (int i = 0; i < nbytes; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* Frame one serialized Event as a TFRecord and queue it:
 *   uint64 length | uint32 masked_crc(length bytes) | data | uint32 masked_crc(data) */
static Status append_record(TbWriter *w, const StrBuf *ev, Diag *d) {
  size_t need = w->len + ev->len + 16;
  if (need > w->cap) {
    size_t cap = need > 2 * w->cap ? need : 2 * w->cap;
    unsigned char *b = ir_realloc(w->buf, cap);
    if (!b) return diag_oom(d);
    w->buf = b;
    w->cap = cap;
  }
  unsigned char *p = w->buf + w->len;
  put_le(p, ev->len, 8);
  put_le(p + 8, tb_crc_mask(tb_crc32c(0, p, 8)), 4);
  memcpy(p + 12, ev->data, ev->len);
  put_le(p + 12 + ev->len, tb_crc_mask(tb_crc32c(0, ev->data, ev->len)), 4);
  w->len = need;
  return w->len >= TB_PENDING_MAX ? write_pending(w, d) : JS_OK;
}

/* Event {double wall_time = 1; int64 step = 2; Summary summary = 5}, the summary holding the
 * one Summary.Value in w->val (Summary {repeated Value value = 1}). */
static Status emit_summary(TbWriter *w, int64_t step, double wall_time, Diag *d) {
  StrBuf *ev = &w->ev;
  if (w->val.oom) return diag_oom(d); /* checked first: a failed buffer's data may be NULL */
  sb_clear(ev);
  pb_double(ev, 1, wall_time);
  pb_int(ev, 2, step);
  pb_len_head(ev, 5, pb_len_size(1, w->val.len));
  pb_bytes(ev, 1, w->val.data, w->val.len);
  if (ev->oom) return diag_oom(d);
  return append_record(w, ev, d);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- opening and closing ---- */

/* dir/events.out.tfevents.<unix seconds>.<hostname>.<pid>.<n>: TensorBoard finds files by
 * the prefix and orders them by the seconds.  n counts the writers this process opened, so
 * two opened in one second (sweep workers share a pid) get different names. */
static char *event_path(const char *dir) {
  static atomic_uint opened;
  char host[256] = "localhost";
  if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "localhost");
  host[sizeof host - 1] = 0;
  StrBuf sb;
  sb_init(&sb);
  sb_printf(&sb, "%s/events.out.tfevents.%lld.%s.%ld.%u", dir, (long long)time(NULL), host, (long)getpid(),
            atomic_fetch_add(&opened, 1));
  if (sb.oom) sb_free(&sb);
  return sb.data;
}

static void writer_free(TbWriter *w) {
  sb_free(&w->ev);
  sb_free(&w->val);
  sb_free(&w->msg);
  sb_free(&w->data);
  ir_free(w->buf);
  ir_free(w->path);
  ir_free(w);
}

/* The first record of every event file: Event {wall_time = 1; file_version = 3}. */
static Status write_file_version(TbWriter *w, Diag *d) {
  sb_clear(&w->ev);
  pb_double(&w->ev, 1, now_seconds());
  pb_str(&w->ev, 3, TB_FILE_VERSION);
  if (w->ev.oom) return diag_oom(d);
  Status st = append_record(w, &w->ev, d);
  return st == JS_OK ? write_pending(w, d) : st;
}

Status tb_open(const char *dir, TbWriter **out, Diag *d) {
  *out = NULL;
  if (!ir_mkdir_p(dir, 0777)) {
    diag_error(d, (SrcLoc){0}, "cannot create the directory '%s': %s", dir, strerror(errno));
    return JS_EIO;
  }
  TbWriter *w = ir_calloc(1, sizeof *w);
  if (!w) return diag_oom(d);
  w->fd = -1;
  if (!(w->path = event_path(dir))) {
    writer_free(w);
    return diag_oom(d);
  }
  w->file.path = w->path;
  w->fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (w->fd < 0) {
    Status st = tb_fail(w, "create the event file", d);
    writer_free(w);
    return st;
  }
  /* Written at once, so TensorBoard lists the run and a full disk shows up now. */
  Status st = write_file_version(w, d);
  if (st != JS_OK) {
    close(w->fd);
    unlink(w->path);
    writer_free(w);
    return st;
  }
  *out = w;
  return JS_OK;
}

const char *tb_path(const TbWriter *w) {
  return w->path;
}

Status tb_flush(TbWriter *w, Diag *d) {
  Status st = tb_usable(w, d);
  if (st == JS_OK) st = write_pending(w, d);
  /* fsync: an epoch's scalars survive a crash of the machine, not only of the process. */
  if (st == JS_OK && fsync(w->fd) != 0) st = tb_fail(w, "sync", d);
  return st;
}

Status tb_close(TbWriter *w, Diag *d) {
  if (!w) return JS_OK;
  Status st = w->failed;
  if (st == JS_OK) st = tb_flush(w, d);
  if (close(w->fd) != 0 && st == JS_OK) st = tb_fail(w, "close", d);
  writer_free(w);
  return st;
}

/* ---- scalars ---- */

/* Summary.Value {string tag = 1; float simple_value = 2}: the legacy scalar form, which
 * TensorBoard still reads into its Scalars tab (and converts as it loads). */
Status tb_scalar(TbWriter *w, const char *tag, int64_t step, double wall_time, float value, Diag *d) {
  Status st = tb_usable(w, d);
  if (st != JS_OK) return st;
  if (!tag || !*tag) return tb_usage(w, d, "a scalar needs a tag");
  sb_clear(&w->val);
  pb_str(&w->val, 1, tag);
  pb_float(&w->val, 2, value); /* written even when 0: it is a oneof member, so presence counts */
  return emit_summary(w, step, wall_time, d);
}

/* ---- the HParams plugin ---- */

/* HParamsPluginData's oneof `data`, with the tag each is stored under. */
enum { HP_EXPERIMENT = 2, HP_SESSION_START = 3, HP_SESSION_END = 4 };
/* api.proto's DataType and Status enums. */
enum { HP_TYPE_STRING = 1, HP_TYPE_BOOL = 2, HP_TYPE_FLOAT64 = 3 };
enum { HP_STATUS_SUCCESS = 1, HP_STATUS_FAILURE = 2 };

/* TensorProto {dtype = 1: DT_FLOAT; tensor_shape = 2 {dim = 2 {size = 1: 0}}}: the empty float
 * vector TensorBoard's own hparams writer attaches, as its tensor-based loaders want a value. */
static const char null_tensor[] = {0x08, 0x01, 0x12, 0x02, 0x12, 0x00};

/* Summary.Value {tag = 1; SummaryMetadata metadata = 9 {PluginData plugin_data = 1
 * {plugin_name = 1: "hparams"; content = 2: HParamsPluginData}}; TensorProto tensor = 8},
 * with HParamsPluginData {int32 version = 1: 0 (omitted, the default); `which` = w->msg}. */
static Status emit_hparams(TbWriter *w, const char *tag, int which, double wall_time, Diag *d) {
  StrBuf *data = &w->data, *val = &w->val;
  if (w->msg.oom) return diag_oom(d); /* checked before use: a failed buffer's data may be NULL */
  sb_clear(data);
  pb_bytes(data, which, w->msg.data, w->msg.len);
  if (data->oom) return diag_oom(d);
  size_t plugin = pb_len_size(1, strlen("hparams")) + pb_len_size(2, data->len);
  sb_clear(val);
  pb_str(val, 1, tag);
  pb_len_head(val, 9, pb_len_size(1, plugin));
  pb_len_head(val, 1, plugin);
  pb_str(val, 1, "hparams");
  pb_bytes(val, 2, data->data, data->len);
  pb_bytes(val, 8, null_tensor, sizeof null_tensor);
  return emit_summary(w, 0, wall_time, d);
}

/* google.protobuf.Value {number_value = 2 (double); string_value = 3; bool_value = 4}. */
static size_t hp_value_size(const TbHparam *h) {
  if (h->kind == TB_HP_NUMBER) return 1 + 8;
  if (h->kind == TB_HP_BOOL) return 1 + 1;
  return pb_len_size(3, strlen(h->str));
}

static void hp_value(StrBuf *sb, const TbHparam *h) {
  if (h->kind == TB_HP_NUMBER)
    pb_double(sb, 2, h->num);
  else if (h->kind == TB_HP_BOOL)
    pb_int(sb, 4, h->flag);
  else
    pb_str(sb, 3, h->str);
}

/* Experiment {double time_created_secs = 3; repeated HParamInfo hparam_infos = 4
 * {name = 1; DataType type = 4}; repeated MetricInfo metric_infos = 5 {MetricName name = 1
 * {group = 1; tag = 2}}}.  The metric group stays empty: the scalars are in this same run. */
static void experiment_msg(StrBuf *sb, const TbHparam *hp, int n, const char *const *metric_tags, int nmetrics,
                           double wall_time) {
  static const int types[] = {[TB_HP_STRING] = HP_TYPE_STRING, [TB_HP_NUMBER] = HP_TYPE_FLOAT64,
                              [TB_HP_BOOL] = HP_TYPE_BOOL};
  sb_clear(sb);
  pb_double(sb, 3, wall_time);
  for (int i = 0; i < n; i++) {
    pb_len_head(sb, 4, pb_len_size(1, strlen(hp[i].name)) + 2);
    pb_str(sb, 1, hp[i].name);
    pb_int(sb, 4, types[hp[i].kind]);
  }
  for (int i = 0; i < nmetrics; i++) {
    size_t name = pb_len_size(2, strlen(metric_tags[i]));
    pb_len_head(sb, 5, pb_len_size(1, name));
    pb_len_head(sb, 1, name);
    pb_str(sb, 2, metric_tags[i]);
  }
}

/* SessionStartInfo {map<string, Value> hparams = 1; double start_time_secs = 5}; each map
 * entry is a message {string key = 1; Value value = 2}. */
static void session_start_msg(StrBuf *sb, const TbHparam *hp, int n, double wall_time) {
  sb_clear(sb);
  for (int i = 0; i < n; i++) {
    size_t v = hp_value_size(&hp[i]);
    pb_len_head(sb, 1, pb_len_size(1, strlen(hp[i].name)) + pb_len_size(2, v));
    pb_str(sb, 1, hp[i].name);
    pb_len_head(sb, 2, v);
    hp_value(sb, &hp[i]);
  }
  pb_double(sb, 5, wall_time);
}

/* Names must be present and distinct (the map would keep only the last of two), values of
 * a known kind, strings present. */
static Status check_hparams(const TbWriter *w, const TbHparam *hp, int n, const char *const *tags, int ntags,
                            Diag *d) {
  for (int i = 0; i < n; i++) {
    if (!hp[i].name || !*hp[i].name) return tb_usage(w, d, "hyper-parameter %d has no name", i);
    if ((unsigned)hp[i].kind > TB_HP_BOOL || (hp[i].kind == TB_HP_STRING && !hp[i].str))
      return tb_usage(w, d, "hyper-parameter '%s' has no value", hp[i].name);
    for (int k = 0; k < i; k++)
      if (strcmp(hp[i].name, hp[k].name) == 0)
        return tb_usage(w, d, "hyper-parameter '%s' given twice", hp[i].name);
  }
  for (int i = 0; i < ntags; i++)
    if (!tags[i] || !*tags[i]) return tb_usage(w, d, "metric %d has no tag", i);
  return JS_OK;
}

Status tb_hparams_start(TbWriter *w, const TbHparam *hp, int n, const char *const *metric_tags, int nmetrics,
                        double wall_time, Diag *d) {
  Status st = tb_usable(w, d);
  if (st == JS_OK) st = check_hparams(w, hp, n, metric_tags, nmetrics, d);
  if (st != JS_OK) return st;
  experiment_msg(&w->msg, hp, n, metric_tags, nmetrics, wall_time);
  st = emit_hparams(w, "_hparams_/experiment", HP_EXPERIMENT, wall_time, d);
  if (st != JS_OK) return st;
  session_start_msg(&w->msg, hp, n, wall_time);
  return emit_hparams(w, "_hparams_/session_start_info", HP_SESSION_START, wall_time, d);
}

/* SessionEndInfo {Status status = 1; double end_time_secs = 2}. */
Status tb_hparams_end(TbWriter *w, bool ok, double wall_time, Diag *d) {
  Status st = tb_usable(w, d);
  if (st != JS_OK) return st;
  sb_clear(&w->msg);
  pb_int(&w->msg, 1, ok ? HP_STATUS_SUCCESS : HP_STATUS_FAILURE);
  pb_double(&w->msg, 2, wall_time);
  return emit_hparams(w, "_hparams_/session_end_info", HP_SESSION_END, wall_time, d);
}
