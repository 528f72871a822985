/* ir/ir.h — the IR layer's table of contents.
 *
 * jscc's IR is an SSA graph in the torch.fx mould: a Graph is a doubly linked list of Nodes of
 * six kinds (placeholder, get_attr, call_function, call_method, call_module, output), plus the
 * model's module table (Module) and parameter table (Param).  Everything a Graph owns lives in
 * its Arena and is freed at once by ir_graph_free.
 *
 * This header also holds the support code every layer shares: the allocation hook, arenas,
 * string buffers, string maps and diagnostics (Diag).  Library code never exits: it reports
 * into a Diag and returns a Status.  This layer never includes LLVM or CUDA headers.
 *
 * Prototypes are grouped under the name of the .c file that defines them.
 */
#ifndef JSCC_IR_H
#define JSCC_IR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSCC_VERSION "0.1.0"

/* Results of every fallible library call. */
typedef enum Status {
  JS_OK = 0,     /* success */
  JS_ERR = 1,    /* a diagnosed error in the user's input (already reported to the Diag) */
  JS_ENOMEM = 2, /* an allocation failed (reported to the Diag when one was given) */
  JS_EIO = 3,    /* a file could not be read or written (reported) */
  JS_EUSAGE = 4, /* the caller asked for something impossible: bad option, unknown pass */
} Status;

#if defined(__GNUC__)
#define JS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define JS_PRINTF(f, a)
#endif

/* Limits that protect against absurd input: a model asking for more is refused, not
 * allocated. */
#define IR_MAX_RANK 8                  /* dimensions of a tensor type */
#define IR_MAX_NUMEL (INT64_C(1) << 31) /* elements in one tensor (8 GiB of f32) */
#define IR_MAX_DIM (INT64_C(1) << 31)   /* one dimension */

/* ==== alloc.c: the one allocation hook ====
 * All memory jscc allocates goes through ir_malloc/ir_realloc/ir_free.  Tests install a hook
 * that fails after N allocations and check that the failure is reported, not crashed on. */
typedef void *(*AllocHook)(void *ctx, void *ptr, size_t size); /* size 0: free ptr; ptr NULL: malloc */
void ir_set_alloc_hook(AllocHook hook, void *ctx); /* NULL hook restores malloc/realloc/free */
void *ir_malloc(size_t size);                      /* NULL on failure; never NULL for size 0 */
void *ir_calloc(size_t n, size_t size);            /* zeroed; NULL on failure or overflow */
void *ir_realloc(void *ptr, size_t size);          /* NULL on failure (ptr stays valid) */
void ir_free(void *ptr);
char *ir_strdup(const char *s);                    /* NULL on failure */

/* ==== arena.c: bump allocation for everything a Graph or an AST owns ==== */
typedef struct Arena Arena;
Arena *arena_new(void);                                      /* NULL on failure */
void arena_free(Arena *a);                                   /* frees every block at once */
void *arena_alloc(Arena *a, size_t size);                    /* zeroed, 16-aligned; NULL on OOM */
char *arena_strdup(Arena *a, const char *s);                 /* NULL on OOM */
char *arena_strndup(Arena *a, const char *s, size_t n);      /* NULL on OOM */
char *arena_printf(Arena *a, const char *fmt, ...) JS_PRINTF(2, 3);
char *arena_join(Arena *a, const char *x, char sep, const char *y); /* "x" sep "y" */
size_t arena_bytes(const Arena *a);                          /* bytes handed out so far */

/* ==== strbuf.c: growable strings for printers ==== */
typedef struct StrBuf {
  char *data; /* NUL-terminated once anything was written; NULL while empty */
  size_t len; /* bytes written, without the NUL */
  size_t cap; /* bytes allocated */
  bool oom;   /* an append failed: the contents are truncated */
} StrBuf;
void sb_init(StrBuf *sb);
void sb_free(StrBuf *sb);
void sb_clear(StrBuf *sb); /* keeps the allocation */
void sb_putc(StrBuf *sb, char c);
void sb_puts(StrBuf *sb, const char *s);
void sb_putn(StrBuf *sb, const char *s, size_t n);
void sb_printf(StrBuf *sb, const char *fmt, ...) JS_PRINTF(2, 3);
void sb_vprintf(StrBuf *sb, const char *fmt, va_list ap);
void sb_pad(StrBuf *sb, size_t width, size_t used); /* spaces from column `used` to `width` */
const char *sb_str(const StrBuf *sb);              /* "" while empty */
void sb_put_int(StrBuf *sb, int64_t v);            /* decimal, without printf's cost */
/* Python's repr() of a float: the shortest text that reads back to the same double, with
 * ".0" added to integral values ("5.0", "1e-05", "0.1", "inf", "nan"). */
void sb_put_float(StrBuf *sb, double v);
/* The escapes C and JSON share: \" \\ \n \t \r.  False (nothing written) for other bytes. */
bool sb_put_escape(StrBuf *sb, unsigned char c);
/* A double-quoted string with \" \\ \n \t \r and \xHH escapes. */
void sb_put_quoted(StrBuf *sb, const char *s);
void sb_put_csv_field(StrBuf *sb, const char *s); /* RFC 4180 quoting when needed; NULL: empty */
Status sb_write_file(const StrBuf *sb, const char *path); /* atomic: temp file, fsync, rename; JS_EIO with errno set */
/* mkdir -p with the given mode: true when path is a directory afterwards (errno says why not). */
bool ir_mkdir_p(const char *path, unsigned mode);
/* The jscc cache directory (data sets, compiled kernels): `option` when set, else
 * $JSCC_CACHE_DIR, else $XDG_CACHE_HOME/jscc, else $HOME/.cache/jscc.  False when none can be
 * named or it does not fit in buf.  The one place the library reads these variables: callers
 * at the runtime or command-line level resolve the directory and pass it down as an option. */
bool ir_cache_dir(const char *option, char *buf, size_t cap);

/* ==== sha256.c: SHA-256 (FIPS 180-4), for cache keys ==== */
typedef struct IrSha256 {
  uint32_t h[8];   /* the chaining state */
  uint64_t len;    /* bytes hashed so far */
  uint8_t buf[64]; /* the partial block (len % 64 bytes) */
} IrSha256;
void ir_sha256_init(IrSha256 *s);
void ir_sha256_update(IrSha256 *s, const void *data, size_t n);
void ir_sha256_final(IrSha256 *s, uint8_t out[32]);
void ir_sha256(const void *data, size_t n, uint8_t out[32]);   /* the three in one */
void ir_hex(char *out, const uint8_t *bytes, size_t n);        /* out: 2n+1 chars, lower case */

/* ==== strmap.c: open-addressing hash map from NUL-terminated keys to pointers ====
 * Keys are not copied: they must outlive the map (they usually live in an arena). */
typedef struct StrMap {
  const char **keys; /* NULL marks an empty slot */
  void **vals;
  uint32_t *hashes;  /* each slot's key hash: probes compare it before the strings */
  size_t cap;        /* a power of two, or 0 */
  size_t len;
} StrMap;
void strmap_init(StrMap *m);
void strmap_free(StrMap *m);
void *strmap_get(const StrMap *m, const char *key);        /* NULL when absent */
Status strmap_put(StrMap *m, const char *key, void *val);  /* insert or replace; JS_ENOMEM */
bool strmap_del(StrMap *m, const char *key);               /* true when it was there */
uint64_t ir_hash_str(const char *s);

/* ==== json.c: a strict JSON reader into an arena, and the JSON string writer ==== */
#define JSON_MAX_DEPTH 16 /* arrays and objects open at once: deeper input is refused */
typedef enum JKind { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } JKind;

typedef struct JVal {
  JKind kind;
  size_t pos;          /* byte offset of the value in the text, for messages */
  const char *str;     /* J_STR: decoded UTF-8, NUL-terminated; J_NUM: the number's text */
  size_t len;          /* bytes in str */
  bool b;              /* J_BOOL */
  int n;               /* J_ARR, J_OBJ: items */
  struct JVal *items;  /* [n] */
  const char **keys;   /* J_OBJ: [n] decoded keys, distinct */
} JVal;
/* Why a parse failed: the first syntax error and its byte offset, or an allocation failure. */
typedef struct JsonError {
  char msg[160];       /* "unexpected end of header", ... */
  size_t pos;          /* byte offset of the error */
  bool oom;            /* memory ran out instead */
} JsonError;
/* text[0..n) as one JSON document into *out (values owned by a); `what` names the text in
 * messages ("header": "text after the header's JSON value"). */
bool json_parse(Arena *a, const char *text, size_t n, const char *what, JVal *out, JsonError *err);
bool json_uint(const JVal *v, uint64_t *out);              /* a non-negative integer, exactly */
double json_num(const JVal *v);                            /* a number's value; NAN otherwise (or out of memory) */
const JVal *json_get(const JVal *obj, const char *key);    /* NULL when absent or not an object */
/* A JSON string literal of s: valid UTF-8 kept, control bytes and invalid bytes escaped. */
void sb_put_json_str(StrBuf *sb, const char *s);
void sb_put_json_num(StrBuf *sb, double v);                /* null when not finite */

/* ==== diag.c: diagnostics ==== */

/* A source text kept for diagnostics (the line and caret under a message). */
typedef struct SrcFile {
  const char *path; /* as the user named it */
  const char *text; /* whole contents, NUL-terminated; NULL when unavailable */
  size_t len;       /* bytes in text */
} SrcFile;

/* A position in a source file; line and col count from 1, 0 means unknown. */
typedef struct SrcLoc {
  const SrcFile *file; /* NULL: no file (e.g. a graph built by a pass) */
  int line;
  int col;
} SrcLoc;

typedef enum DiagLevel { DIAG_ERROR, DIAG_WARNING, DIAG_NOTE } DiagLevel;

/* Where diagnostics go.  Each message is formatted as
 *   file:line:col: error: message
 *    12 |     h = Linaer(16, 5)
 *       |         ^
 * written to `out` (when not NULL) and appended to `text` (always, for tests). */
typedef struct Diag {
  FILE *out;       /* stream to print to; NULL: collect only */
  StrBuf text;     /* every formatted message so far */
  int nerrors;     /* errors reported (including those past the cap) */
  int nwarnings;
  int max_errors;  /* stop printing after this many errors (0: 20) */
  bool capped;     /* the "too many errors" line was printed */
} Diag;
void diag_init(Diag *d, FILE *out);
void diag_free(Diag *d);
/* Report an error and return JS_ERR, so callers can `return diag_error(...)`. */
Status diag_error(Diag *d, SrcLoc loc, const char *fmt, ...) JS_PRINTF(3, 4);
void diag_warning(Diag *d, SrcLoc loc, const char *fmt, ...) JS_PRINTF(3, 4);
void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...) JS_PRINTF(3, 4);
void diag_vreport(Diag *d, DiagLevel level, SrcLoc loc, const char *fmt, va_list ap);
Status diag_oom(Diag *d); /* reports "out of memory", returns JS_ENOMEM */
bool diag_too_many(const Diag *d); /* true once max_errors is reached: stop early */
/* The candidate closest to `word` by edit distance, when close enough to suggest
 * ("did you mean"); NULL otherwise.  `cands` holds n strings (NULL entries skipped). */
const char *diag_closest(const char *word, const char *const *cands, int n);
/* Read a whole file into a SrcFile owned by `a`.  Reports unreadable files, NUL bytes are
 * kept (the lexers report them). */
Status diag_read_file(Arena *a, const char *path, SrcFile **out, Diag *d);
SrcLoc diag_loc_at(const SrcFile *f, size_t pos);   /* line and column of byte pos (a JSON value's) */
SrcFile *diag_src_from_string(Arena *a, const char *path, const char *text, size_t len);

/* ==== types.c: dtypes, tensor types, values ==== */

typedef enum DType {
#define DTYPE(id, name, bytes) DT_##id,
#include "dtypes.def"
#undef DTYPE
  DT_COUNT
} DType;
const char *ir_dtype_name(DType t);       /* "f32" */
int ir_dtype_bytes(DType t);
bool ir_dtype_parse(const char *s, DType *out);

/* One dimension: a size, or a symbol such as the batch dimension B. */
typedef struct Dim {
  int64_t size;    /* >= 0 for a known size; -1 when symbolic */
  const char *sym; /* the symbol's name when symbolic (interned in the graph's arena) */
} Dim;

/* A tensor's dtype and shape. */
typedef struct TensorType {
  DType dtype;
  int rank;
  Dim dims[IR_MAX_RANK];
} TensorType;
bool ir_type_equal(const TensorType *a, const TensorType *b);
void ir_type_print(StrBuf *sb, const TensorType *t); /* "f32[B,16]", "i64[]" */
/* Element count when every dim is known; -1 when a dim is symbolic.  Saturates at
 * IR_MAX_NUMEL + 1 so callers can refuse absurd sizes without overflow. */
int64_t ir_type_numel(const TensorType *t);

struct Node;
struct Module;

/* A tagged value: node arguments, module arguments, metadata. */
typedef enum ValKind {
  VAL_NONE,  /* None */
  VAL_BOOL,  /* true / false */
  VAL_INT,   /* 64-bit integer */
  VAL_FLOAT, /* double */
  VAL_STR,   /* string */
  VAL_NODE,  /* %name: another node's result */
  VAL_TUPLE, /* (a, b) */
  VAL_LIST,  /* [a, b] */
  VAL_DICT,  /* {key=value, ...}, ordered */
  VAL_TYPE,  /* a tensor type, f32[B,16] (metadata) */
} ValKind;

typedef struct Value Value;
struct Value {
  ValKind kind;
  union {
    bool b;
    int64_t i;
    double f;
    const char *s;
    struct Node *node;
    const TensorType *type;
    struct {
      int n;
      Value *items;
    } seq; /* VAL_TUPLE, VAL_LIST */
    struct {
      int n;
      const char **keys;
      Value *vals;
    } dict; /* VAL_DICT */
  } u;
};
Value val_none(void);
Value val_bool(bool b);
Value val_int(int64_t i);
Value val_float(double f);
Value val_str(const char *s); /* s must outlive the value (arena) */
Value val_node(struct Node *n);
Value val_type(const TensorType *t);
bool val_equal(const Value *a, const Value *b); /* deep; nodes by identity */
const char *val_kind_name(const Value *v);      /* for messages: "int", "tensor", "None" */
/* Deep copy into an arena (strings, sequences, dicts, types); JS_ENOMEM. */
Status val_copy(Arena *a, const Value *src, Value *dst);
/* d[key] = v in a VAL_DICT (VAL_NONE becomes an empty dict): replaces an existing key, else
 * appends, growing the arrays in the arena (key and v are not copied); JS_ENOMEM. */
Status val_dict_set(Arena *a, Value *d, const char *key, Value v);
/* Text form shared by the IR printer and parser: None true 3 0.1 "s" %n (a,) [a] {k=v} f32[B]. */
void val_print(StrBuf *sb, const Value *v);
/* Python-style form for people (report-graph, repr): None True 3 0.1 's' */
void val_print_py(StrBuf *sb, const Value *v);

/* ==== sig.c: call signatures (ops.def, modules.def) ==== */

typedef enum SigType {
  ST_TENSOR, ST_INT, ST_FLOAT, ST_NUMBER, ST_BOOL, ST_STR, ST_ANY, ST_MODULE, ST_TENSOR_OR_NUMBER
} SigType;

typedef struct SigParam {
  const char *name;
  SigType type;
  bool optional;    /* "?": None is accepted */
  bool has_default;
  bool varargs;     /* "*name": takes every remaining positional argument */
  Value def;        /* the default when has_default */
} SigParam;

typedef struct Sig {
  int n;
  SigParam params[12];
} Sig;

/* Parses the signature strings of the tables; they are constants, so a failure is a bug
 * (it returns false and the unit tests check every table entry). */
bool ir_sig_parse(const char *text, Sig *out);
const char *ir_sig_type_name(SigType t);
/* Binds a call's arguments to a signature, checking count, names and types.  `bound`
 * receives one value per signature parameter (defaults filled in; a varargs parameter
 * receives a VAL_TUPLE of what it took, allocated in `a`).  `what` names the callee in
 * messages ("Linear", "function 'relu'").  A node argument is accepted for tensor types. */
Status ir_sig_bind(const Sig *sig, const char *what, int nargs, const Value *args, int nkw,
                   const char *const *kwnames, const Value *kwargs, Arena *a, Value *bound,
                   Diag *d, SrcLoc loc);

/* ==== ops.c: the operator and module tables ==== */

/* MASE's node classification. */
typedef enum MaseType {
  MASE_PLACEHOLDER, MASE_GET_ATTR, MASE_OUTPUT, MASE_MODULE, MASE_MODULE_RELATED_FUNC,
  MASE_BUILTIN_FUNC, MASE_IMPLICIT_FUNC, MASE_TYPE_COUNT
} MaseType;
const char *ir_mase_type_name(MaseType t); /* "module_related_func" */

enum { FORM_FN = 1, FORM_METHOD = 2 };             /* OpInfo.forms */
enum { P_EW = 1, P_GRAD = 2, P_QUANT = 4 };         /* OpInfo.props */

typedef enum MaseOp {
  MOP_NONE = -1,
#define OP(id, name, mtype, forms, props, sig) MOP_##id,
#include "ops.def"
#undef OP
  MOP_COUNT
} MaseOp;

typedef struct OpInfo {
  const char *name;   /* mase_op, function and method name */
  size_t namelen;     /* strlen(name), for cheap lookups */
  MaseType mase_type; /* of call_function / call_method nodes */
  int forms;          /* FORM_* */
  int props;          /* P_* */
  Sig sig;            /* parsed signature */
} OpInfo;

typedef enum ModuleType {
  MT_NONE = -1,
#define MODULE(id, cls, op, mtype, sig, repr) MT_##id,
#include "modules.def"
#undef MODULE
  MT_COUNT
} ModuleType;

typedef struct ModuleInfo {
  const char *cls;    /* "Linear" */
  MaseOp op;          /* what a call computes; MOP_NONE for Sequential */
  MaseType mase_type; /* of call_module nodes */
  Sig sig;            /* constructor signature */
  const char *repr;   /* see modules.def */
} ModuleInfo;

const OpInfo *ir_op_info(MaseOp op);               /* NULL for MOP_NONE or out of range */
MaseOp ir_op_lookup(const char *name);             /* MOP_NONE when unknown */
MaseOp ir_op_lookup_form(const char *name, int form); /* only ops with that form */
const ModuleInfo *ir_module_info(ModuleType t);
ModuleType ir_module_lookup(const char *cls);      /* MT_NONE when unknown */
/* Names for "did you mean": every op name with the form (0: all), every module class. */
int ir_op_names(int form, const char **out, int cap);
int ir_module_names(const char **out, int cap);
/* Every op name whose props include all of `props` (P_QUANT: the quantizable ops). */
int ir_op_names_with(int props, const char **out, int cap);

/* "a, b or c": every name of `names` for messages that list what is accepted. */
void ir_names_list(StrBuf *sb, const char *const *names, int n);

/* ==== ew.c: the elementwise activations as formulas over primitives (ew.def) ==== */

typedef enum EwPrim {
  EWP_ADD, EWP_SUB, EWP_MUL, EWP_DIV, EWP_NEG, EWP_EXP, EWP_LOG, EWP_ERF,
  EWP_MAX,  /* NaN when either operand is NaN (torch.maximum) */
  EWP_MIN,  /* likewise */
  EWP_SEL,  /* a > 0 ? b : c (a NaN selects c) */
  EWP_COUNT
} EwPrim;
typedef enum EwSrc { EWS_STEP, EWS_X, EWS_Y, EWS_G, EWS_CONST, EWS_PARAM } EwSrc;

typedef struct EwOpd {
  EwSrc src;
  int i;    /* EWS_STEP: the step; EWS_PARAM: the op's signature parameter */
  double c; /* EWS_CONST */
} EwOpd;

typedef struct EwStep {
  EwPrim prim;
  EwOpd a[3]; /* ir_ew_prim_arity(prim) of them */
} EwStep;

enum { IR_EW_MAX_STEPS = 64, IR_EW_MAX_PARAMS = 12 };
typedef struct EwProg {
  int n;                          /* steps; the value is the last one's */
  EwStep steps[IR_EW_MAX_STEPS];
} EwProg;

typedef struct EwDef {
  MaseOp op;
  int variant_param;          /* the signature parameter the variant tests (0: none) */
  const char *variant_value;  /* NULL: every call of the op */
  bool saved_y;               /* the backward reads the result y (else the input x) */
  EwProg fwd;                 /* y from x */
  EwProg bwd;                 /* the input's gradient from g and x or y */
} EwDef;

/* The formula of op for a call with these bound arguments (its signature's order; NULL
 * matches only lines without a variant); NULL when op has none. */
const EwDef *ir_ew_find(MaseOp op, const Value *bound);
bool ir_ew_has(MaseOp op); /* op has a line in ew.def */
const EwDef *ir_ew_def(int i); /* the i-th line of ew.def; NULL past the end */
/* The numeric value of each bound argument (params[i] for signature parameter i). */
void ir_ew_params(const EwDef *d, const Value *bound, double *params);
/* One primitive, and a whole program, in double. */
double ir_ew_apply(EwPrim p, double a, double b, double c);
double ir_ew_eval(const EwProg *p, double x, double y, double g, const double *params);
const char *ir_ew_prim_name(EwPrim p);
int ir_ew_prim_arity(EwPrim p);
/* Whether every line of ew.def parses (*bad: the first that does not); for the unit tests. */
bool ir_ew_check_table(const char **bad);

/* ==== quant.c (the quantizers) and qcfg.c (configs on nodes): number formats ====
 * A quantized node carries a MASE-style config (spec/ir.md, "Quantization"): one number
 * format kind for the node and a format per slot: its data inputs (data_in), its parameters
 * (weight, bias) and its result (data_out).  The quantizers are fake quantization in MASE's
 * sense: they return floats that lie on the format's grid. */
typedef enum QKind {
  QK_INTEGER,          /* fixed point: width, frac_width (MASE "integer", alias "fixed") */
  QK_MINIFLOAT_IEEE,   /* width, exponent_width, exponent_bias; implicit leading 1 */
  QK_MINIFLOAT_DENORM, /* the same without the implicit 1 (every value denormal-style) */
  QK_LOG,              /* sign * 2^e: width, exponent_bias */
  QK_BLOCK_FP,         /* a shared exponent per block of block_size elements along the last dim */
  QK_BINARY,           /* sign: {-1,+1} (bipolar) or {0,1} */
  QK_TERNARY,          /* {-a, 0, +a} with a threshold from a whole-tensor statistic */
  QK_BLOCK_MINIFLOAT,  /* minifloat_ieee with a bias shared per block: width, exponent_width,
                          exponent_bias_width, block_size */
  QK_BLOCK_LOG,        /* log with a bias shared per block: width, exponent_bias_width, block_size */
  QK_COUNT
} QKind;
const char *ir_qkind_name(QKind k);        /* "integer", "minifloat_ieee", ... */
bool ir_qkind_parse(const char *s, QKind *out); /* also accepts "fixed" for QK_INTEGER */
/* The class-name suffix MASE gives a quantized module: "Integer", "MinifloatIEEE", ... */
const char *ir_qkind_class_suffix(QKind k);

typedef enum QTernaryStat { QT_MEAN, QT_MEDIAN, QT_MAX } QTernaryStat;

/* One number format, fully resolved (defaults filled in). */
typedef struct QFmt {
  QKind kind;
  int width;          /* total bits (binary: 1; ternary: 2) */
  int frac_width;     /* QK_INTEGER: fractional bits, 0 <= frac_width <= width */
  int exp_width;      /* QK_MINIFLOAT_*, QK_BLOCK_FP: exponent bits */
  int exp_bias;       /* QK_MINIFLOAT_*, QK_LOG, QK_BLOCK_FP */
  int block_size;     /* QK_BLOCK_FP, QK_BLOCK_*: elements sharing an exponent, along the last dim */
  int exp_bias_width; /* QK_BLOCK_MINIFLOAT, QK_BLOCK_LOG: bits of the per-block bias (1..16) */
  int block_rows;     /* the block kinds: rows of a 2-d block (MASE's block_size [r, c], r > 1:
                         r rows x block_size columns); 0 or 1: blocks within one row */
  bool is_signed;     /* QK_INTEGER: false selects the unsigned range [0, 2^w - 1] */
  bool floor;         /* QK_INTEGER: round toward -inf instead of half to even */
  bool bipolar;       /* QK_BINARY: {-1,+1} when true, {0,1} when false */
  bool scaling;       /* QK_TERNARY: scale by the mean |x| of the kept elements (else 1) */
  QTernaryStat tstat; /* QK_TERNARY: threshold = 0.75*mean|x|, 0.75*median|x| or 0.05*max|x| */
} QFmt;

/* True for formats that quantize each element on its own (integer, minifloat, log, binary);
 * block_fp needs its block and ternary the whole tensor. */
bool ir_qfmt_elementwise(const QFmt *f);
/* One element, in double arithmetic (the reference executor) and in float (the JIT's C
 * reference).  For every float input the two agree.  NaN stays NaN; infinities saturate. */
double ir_quant_f64(const QFmt *f, double x);
float ir_quant_f32(const QFmt *f, float x);
/* n elements from x into y (x == y allowed), for every kind: elementwise formats element by
 * element, block_fp in blocks of block_size within each run of `row` contiguous elements
 * (the last dim; a short last block is its own block), ternary over all n. */
void ir_quant_tensor(const QFmt *f, const float *x, float *y, int64_t n, int64_t row);
void ir_quant_tensor_f64(const QFmt *f, const double *x, double *y, int64_t n, int64_t row);
/* For QK_BLOCK_MINIFLOAT and QK_BLOCK_LOG: the bias of a block whose largest |x| is m. */
int ir_quant_block_bias(const QFmt *f, float m);
/* For QK_INTEGER: the integer code of x (clamp(round(x * 2^f))), as int64. */
int64_t ir_quant_code(const QFmt *f, double x);
/* The exponent decisions ceil, floor or rne of L(v) = (float)log2((double)v) for a positive
 * finite float v, as the kernels make them from v's bits (quant.c explains why this is
 * exact): ir_quant_exp_table fills the per-binade mantissa thresholds of one decision for
 * binades E = IR_QEXP_EMIN .. IR_QEXP_EMIN + IR_QEXP_N - 1, ir_quant_exp_bits applies them
 * (the kernels' C twin) and ir_quant_exp_ref is the decision from log2 itself. */
enum { IR_QEXP_CEIL, IR_QEXP_FLOOR, IR_QEXP_ROUND };
#define IR_QEXP_EMIN (-149)
#define IR_QEXP_N 277
void ir_quant_exp_table(int how, int32_t thr[IR_QEXP_N]);
int ir_quant_exp_bits(const int32_t thr[IR_QEXP_N], float v);
int ir_quant_exp_ref(int how, float v);
/* "fixed[8,4]", "minifloat_ieee[8,4,7]", "log[8,3]", "block_fp[8,4,7,16]", "binary", "ternary". */
void ir_qfmt_print(StrBuf *sb, const QFmt *f);

/* Where a node's formats apply. */
typedef enum QSlot { QS_DATA_IN, QS_WEIGHT, QS_BIAS, QS_DATA_OUT, QS_COUNT } QSlot;
const char *ir_qslot_name(QSlot s); /* "data_in", "weight", "bias", "data_out" */

/* A node's quantization, decoded from its config. */
typedef struct QCfg {
  QKind kind;
  bool has[QS_COUNT]; /* the slot is quantized */
  QFmt fmt[QS_COUNT];
  bool bypass;        /* MASE's bypass: the node computes in float (config kept) */
} QCfg;

/* Decode and check a MASE config dict ({name="integer", data_in_width=8, ...}) for an op.
 * `what` names the config in messages ("quantize: linear.config"); every error names the key
 * ("...: unknown key 'data_in_widht' (did you mean 'data_in_width'?)", "weight_width: 0 is
 * not a width (1..32)", "weight_frac_width: 9 is more than weight_width 8").  name "NA" or
 * None means "leave the node alone" and gives JS_OK with *skip true. */
Status ir_qcfg_decode(MaseOp op, const Value *cfg, const char *what, QCfg *out, bool *skip, Diag *d,
                      SrcLoc loc);
/* Whether `key` is one a config of that format takes for that op (a slot the op lacks, or a
 * field the format has not, is not): jscc search leaves out the others. */
bool ir_qcfg_key_valid(MaseOp op, QKind kind, const char *key);
/* The same, with each error located where its key was written: keyloc(ud, "weight_width")
 * (a config file's location; SrcLoc{0} when unknown, and then `loc`). */
typedef SrcLoc (*QKeyLocFn)(void *ud, const char *key);
Status ir_qcfg_decode_at(MaseOp op, const Value *cfg, const char *what, QCfg *out, bool *skip, Diag *d, SrcLoc loc,
                         QKeyLocFn keyloc, void *ud);
/* The ops a config may quantize, and the slots each one has. */
bool ir_op_quantizable(MaseOp op);
bool ir_op_has_qslot(MaseOp op, QSlot s);
/* The normalized config dict of a QCfg (every key written, defaults resolved), in the arena. */
Status ir_qcfg_to_value(Arena *a, MaseOp op, const QCfg *q, Value *out);
/* A QFmt as the `format` argument of the quantize op: {kind="integer", width=8, frac_width=4,
 * signed=true, floor=false} (only the kind's fields are written).  from_value checks it. */
Status ir_qfmt_to_value(Arena *a, const QFmt *f, Value *out);
Status ir_qfmt_from_value(const Value *v, QFmt *out, Diag *d, SrcLoc loc);
/* "linear_integer": the node's quantized op name. */
const char *ir_quant_op_name(Arena *a, MaseOp op, QKind k);

/* ==== graph.c: Graph, Node, Module, Param ==== */

typedef enum NodeKind {
  OP_PLACEHOLDER, OP_GET_ATTR, OP_CALL_FUNCTION, OP_CALL_METHOD, OP_CALL_MODULE, OP_OUTPUT,
  OP_KIND_COUNT
} NodeKind;
const char *ir_node_kind_name(NodeKind k);            /* "call_module" */
bool ir_node_kind_parse(const char *s, NodeKind *out);

typedef struct Graph Graph;

typedef struct Node {
  NodeKind op;          /* fx's node.op */
  const char *name;     /* unique within the graph; printed as %name */
  const char *target;   /* placeholder: input name; get_attr: parameter's qualified name;
                           call_function / call_method: op name; call_module: module path;
                           output: "output" */
  MaseOp mop;           /* the operator computed (call_function/method/module), else MOP_NONE */
  struct Module *module;/* call_module: the module called; else NULL */
  struct Param *param;  /* get_attr: the parameter read; else NULL */
  int nargs;            /* positional arguments (fx's args tuple) */
  Value *args;
  int nkwargs;          /* keyword arguments, in order */
  const char **kwnames;
  Value *kwargs;
  struct Node **users;  /* nodes whose args mention this one, each once, in insertion order */
  int nusers;
  int capusers;
  struct Node *prev;    /* graph order */
  struct Node *next;
  Graph *graph;         /* owner */
  bool has_type;        /* `type` is known (placeholders from the start; others after `shape`) */
  TensorType type;      /* the result's dtype and shape */
  SrcLoc loc;           /* where the user wrote it */
  SrcLoc ir_at;         /* its line in the IR text it was read from ({0}: not read from IR text) */
  Value meta;           /* VAL_DICT of metadata (mase_type, mase_op, common, ...) or VAL_NONE */
  Value quant;          /* VAL_DICT: the node's normalized quantization config; else VAL_NONE */
  int index;            /* position in the graph, 0-based; kept by ir_graph_renumber */
} Node;

typedef enum ParamKind { PK_PARAM, PK_BUFFER } ParamKind;

typedef enum InitKind {
#define INIT(id, name, nargs) INIT_##id,
#include "inits.def"
#undef INIT
  INIT_COUNT
} InitKind;
const char *ir_init_name(InitKind k);
int ir_init_nargs(InitKind k);
bool ir_init_parse(const char *s, InitKind *out);

/* How a parameter is initialised. */
typedef struct Init {
  InitKind kind;
  double args[2]; /* see inits.def */
} Init;

/* A parameter or buffer: a named tensor owned by a module (or by the model itself). */
typedef struct Param {
  const char *name;      /* local name: "weight" */
  const char *qualname;  /* state_dict name: "seq_blocks.2.weight" */
  struct Module *owner;  /* the module, or the graph's root module */
  ParamKind kind;
  TensorType type;       /* every dim known */
  Init init;
  SrcLoc loc;
} Param;

/* A module instance in the model's module table. */
typedef struct Module {
  const char *path;      /* qualified name, "seq_blocks.2"; "" for the root */
  const char *name;      /* last component, "2" */
  ModuleType type;       /* MT_NONE for the root */
  struct Module *parent; /* NULL for the root */
  int nargs;             /* constructor arguments bound to the signature, in its order */
  Value *args;
  int nchildren;         /* Sequential: its children, in order */
  struct Module **children;
  int nparams;           /* parameters and buffers, in state_dict order */
  Param **params;
  SrcLoc loc;
  SrcLoc ir_at;          /* its line in the IR text it was read from ({0}: not read from IR text) */
} Module;

struct Graph {
  Arena *arena;          /* owns everything below */
  const char *name;      /* the model's name */
  Node *first;           /* graph order */
  Node *last;
  int nnodes;
  Module *root;          /* the model itself: root parameters, top-level modules */
  Module **modules;      /* every module but the root, in declaration order (parents first) */
  int nmodules;
  int capmodules;
  Param **params;        /* every parameter and buffer, in state_dict order */
  int nparams;
  int capparams;
  StrMap node_names;     /* name -> Node */
  StrMap module_paths;   /* path -> Module */
  StrMap param_names;    /* qualname -> Param */
  StrMap name_counts;    /* fx's _Namespace._base_count: name base -> last suffix used */
  SrcLoc loc;            /* the model's definition */
  const SrcFile *ir_src; /* the IR text this graph was parsed from (ir_parse), else NULL:
                            locations in it are not printed, only original .jsc ones */
};

/* A file's worth of models. */
typedef struct Program {
  Arena *arena;          /* owns the SrcFiles and the graph array */
  Graph **graphs;
  int ngraphs;
  int capgraphs;
} Program;

Program *ir_program_new(void);                 /* NULL on OOM */
void ir_program_free(Program *p);              /* frees every graph */
Status ir_program_add(Program *p, Graph *g);   /* takes ownership */
Graph *ir_program_find(const Program *p, const char *name);

Graph *ir_graph_new(const char *name);         /* NULL on OOM */
void ir_graph_free(Graph *g);
const char *ir_intern(Graph *g, const char *s); /* arena copy; NULL on OOM */

/* Create a node and insert it before `before` (NULL: at the end).  `name` NULL derives a
 * unique fx-style name from the target ("seq_blocks.0" -> "seq_blocks_0", a second "add" ->
 * "add_1"); a given name must be unused (JS_ERR-like NULL return is a bug: check first with
 * ir_graph_find_node).  Resolves `module`/`param`/`mop` from the target where it can.
 * Returns NULL on OOM. */
Node *ir_node_new(Graph *g, NodeKind op, const char *target, const char *name, Node *before,
                  SrcLoc loc);
/* The one function that changes a node's arguments: copies them into the arena and keeps
 * every `users` list right. */
Status ir_node_set_args(Node *n, int nargs, const Value *args, int nkw,
                        const char *const *kwnames, const Value *kwargs);
/* Point every user of `old` at `repl` instead. */
Status ir_node_replace_uses(Node *old, Node *repl);
/* Unlink a node; it must have no users (a bug otherwise: returns JS_EUSAGE). */
Status ir_node_erase(Node *n);
Node *ir_graph_find_node(const Graph *g, const char *name);
Node *ir_graph_output(const Graph *g);         /* the output node, or NULL */
/* Where an error about a node (a module) points: its line in the IR text it was read from,
 * where a tampered file is wrong, else where the user wrote it. */
SrcLoc ir_node_at(const Node *n);
SrcLoc ir_module_at(const Module *m);
void ir_graph_renumber(Graph *g);              /* refresh Node.index */
/* A name not used yet, fx-style, interned (NULL on OOM). */
const char *ir_graph_unique_name(Graph *g, const char *base);

/* Metadata: an ordered dict on each node.  ir_meta_set replaces an existing key. */
Status ir_meta_set(Node *n, const char *key, Value v); /* v is deep-copied into the arena */
const Value *ir_meta_get(const Node *n, const char *key);
void ir_meta_clear(Node *n);

/* Quantization of a node (qcfg.c).  ir_node_set_quant decodes and checks `cfg` for the node's
 * op (errors as ir_qcfg_decode, at the node's location) and stores the normalized dict;
 * VAL_NONE or a "NA" config clears it.  ir_node_qcfg decodes the stored config: false when
 * the node is not quantized (or bypassed: then *q still gets the config). */
Status ir_node_set_quant(Node *n, const Value *cfg, const char *what, Diag *d);
bool ir_node_qcfg(const Node *n, QCfg *q);
/* Makes data-input quantizers explicit: each quantized node's data operands (a module call's
 * input; a function's input and other) pass through `quantize` nodes inserted before it, and
 * its config keeps the other slots.  The graph computes the same values (spec/quant.md); the
 * grad pass does this so the backward reads quantized operands as ordinary nodes (a
 * BatchNorm's batch statistics are its quantized input's), and the JIT's plan expects it. */
Status ir_quant_explicit_inputs(Graph *g, Diag *d);

/* Modules and parameters. */
Module *ir_module_new(Graph *g, Module *parent, const char *name, ModuleType type, SrcLoc loc);
Module *ir_graph_find_module(const Graph *g, const char *path);
Param *ir_param_new(Graph *g, Module *owner, const char *name, ParamKind kind,
                    const TensorType *type, Init init, SrcLoc loc);
Param *ir_graph_find_param(const Graph *g, const char *qualname);

/* ==== module.c: module construction ==== */
/* Binds constructor arguments (checking them), stores them in m->args and creates the
 * parameters and buffers PyTorch's class would (Linear: weight [out,in] kaiming_uniform(a=√5),
 * bias [out] uniform(±1/√in); BatchNorm1d: weight, bias, running_mean, running_var,
 * num_batches_tracked; Conv1d: weight [out,in/groups,k], bias).  Refuses absurd sizes. */
Status ir_module_configure(Graph *g, Module *m, int nargs, const Value *args, int nkw,
                           const char *const *kwnames, const Value *kwargs, Diag *d, SrcLoc loc);
/* A module's bound constructor argument by name (NULL if the class has no such parameter). */
const Value *ir_module_arg(const Module *m, const char *name);
/* A module's own parameter or buffer by name ("weight", "running_var"); NULL when it has
 * none (or m is NULL). */
Param *ir_module_param(const Module *m, const char *name);
/* A numeric constructor argument (int or float) as a double; def when absent or not a number. */
double ir_module_num(const Module *m, const char *name, double def);
/* BatchNorm folded for one channel (spec/quant.md §3): returns s = w / sqrt(var + eps) and
 * sets *shift = b - mean * s (w = 1, b = 0 for a BatchNorm without affine).  Every
 * consumer of a quantized BatchNorm folds through it. */
double ir_bn_fold(double w, double b, double mean, double var, double eps, double *shift);
/* Binds a call of module m to its op (ModuleInfo.op): bound[i] for each parameter of the
 * op's signature, the module's constructor argument of the same name or else the parameter's
 * default; bound[0] (the input) is VAL_NONE, for the caller to supply.  A Dropout module
 * binds training=true (a module trains until eval()).  MOP_NONE for a container. */
MaseOp ir_module_bind(const Module *m, Value *bound);
/* PyTorch's repr: "Linear(in_features=16, out_features=5, bias=True)". */
void ir_module_repr(StrBuf *sb, const Module *m);
/* Counts of trainable parameter elements and buffer elements under a module (recursive). */
void ir_module_count(const Module *m, int64_t *nparam, int64_t *nbuffer);

/* ==== infer.c: shape and dtype rules, one per operator ====
 * The result type of a call_function / call_method / call_module / get_attr / placeholder
 * node from its arguments' types (which must be known).  A mismatch is reported at the
 * node's location naming both shapes, e.g. "Linear(16, 5) expects 16 input features, got
 * f32[B,32]".  Used by the `shape` pass and by ir_verify. */
Status ir_infer_type(const Node *n, TensorType *out, Diag *d);

/* ==== verify.c: the graph's invariants (fx's lint) ====
 * SSA (each node defined once, before every use), unique names, users lists in step with
 * args, exactly one output node and last, targets that resolve, arity and keyword arguments
 * per the op table, and recorded types equal to what ir_infer_type gives. */
Status ir_verify(const Graph *g, Diag *d);

/* ==== print.c: views of a graph ====
 * The text form (spec/ir.md) parses back with ir_parse; the other views are for people and
 * tools and say so. */
void ir_print_program(StrBuf *sb, const Program *p); /* every graph, text form */
void ir_print_graph(StrBuf *sb, const Graph *g);     /* one graph, text form */
void ir_print_node(StrBuf *sb, const Node *n);       /* one node line, no indent or newline */
void ir_print_table(StrBuf *sb, const Graph *g);     /* fx's print_tabular */
void ir_print_dot(StrBuf *sb, const Graph *g);       /* graphviz */
void ir_print_json(StrBuf *sb, const Graph *g);      /* JSON: nodes, modules, params */

/* ==== parse.c: the text form back into graphs ====
 * Reads every model of the text (spec/ir.md), then runs ir_verify on each: JS_OK means every
 * graph is valid.  The first error stops the parse; it names the IR file's line and column
 * (*out is NULL then; JS_ENOMEM when an allocation failed).  The Program keeps its own copy
 * of the text: nodes written without loc(...) point into it (Graph.ir_src), so `src` may be
 * freed afterwards. */
Status ir_parse(const SrcFile *src, Program **out, Diag *d);

#endif /* JSCC_IR_H */
