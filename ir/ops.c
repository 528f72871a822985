/* ops.c — the operator and module tables, generated from ops.def and modules.def.
 *
 * Signatures are parsed on first use; the tables are constant after that. */
#include <string.h>

#include "ir.h"

static OpInfo ops[MOP_COUNT] = {
#define OP(id, nm, mtype, fm, pr, sg) {.name = nm, .namelen = sizeof nm - 1, .mase_type = mtype, .forms = fm, .props = pr},
#include "ops.def"
#undef OP
};
static const char *const op_sigs[MOP_COUNT] = {
#define OP(id, nm, mtype, fm, pr, sg) sg,
#include "ops.def"
#undef OP
};

static ModuleInfo mods[MT_COUNT] = {
#define MODULE(id, c, o, mtype, sg, rp) {.cls = c, .op = o, .mase_type = mtype, .repr = rp},
#include "modules.def"
#undef MODULE
};
static const char *const mod_sigs[MT_COUNT] = {
#define MODULE(id, c, o, mtype, sg, rp) sg,
#include "modules.def"
#undef MODULE
};

static const char *const mase_type_names[MASE_TYPE_COUNT] = {
    "placeholder", "get_attr", "output", "module", "module_related_func", "builtin_func",
    "implicit_func"};

const char *ir_mase_type_name(MaseType t) {
  return (unsigned)t < MASE_TYPE_COUNT ? mase_type_names[t] : "?";
}

/* The signature strings are constants checked by the unit tests, so a parse failure leaves an
 * empty signature rather than failing at run time. */
static void init_tables(void) {
  static bool done;
  if (done) return;
  for (int i = 0; i < MOP_COUNT; i++)
    if (!ir_sig_parse(op_sigs[i], &ops[i].sig)) ops[i].sig.n = 0;
  for (int i = 0; i < MT_COUNT; i++)
    if (!ir_sig_parse(mod_sigs[i], &mods[i].sig)) mods[i].sig.n = 0;
  done = true;
}

const OpInfo *ir_op_info(MaseOp op) {
  init_tables();
  return (unsigned)op < MOP_COUNT ? &ops[op] : NULL;
}

MaseOp ir_op_lookup(const char *name) {
  return ir_op_lookup_form(name, 0);
}

MaseOp ir_op_lookup_form(const char *name, int form) {
  /* Every call node is looked up here while parsing: compare lengths and first bytes before
   * whole names. */
  size_t n = strlen(name);
  for (int i = 0; i < MOP_COUNT; i++)
    if (ops[i].namelen == n && ops[i].name[0] == name[0] && memcmp(ops[i].name, name, n) == 0 &&
        (!form || (ops[i].forms & form)))
      return (MaseOp)i;
  return MOP_NONE;
}

const ModuleInfo *ir_module_info(ModuleType t) {
  init_tables();
  return (unsigned)t < MT_COUNT ? &mods[t] : NULL;
}

ModuleType ir_module_lookup(const char *cls) {
  for (int i = 0; i < MT_COUNT; i++)
    if (strcmp(mods[i].cls, cls) == 0) return (ModuleType)i;
  return MT_NONE;
}

int ir_op_names(int form, const char **out, int cap) {
  int n = 0;
  for (int i = 0; i < MOP_COUNT && n < cap; i++)
    if (!form || (ops[i].forms & form)) out[n++] = ops[i].name;
  return n;
}

int ir_module_names(const char **out, int cap) {
  int n = 0;
  for (int i = 0; i < MT_COUNT && n < cap; i++) out[n++] = mods[i].cls;
  return n;
}

int ir_op_names_with(int props, const char **out, int cap) {
  int n = 0;
  for (int i = 0; i < MOP_COUNT && n < cap; i++)
    if ((ops[i].props & props) == props) out[n++] = ops[i].name;
  return n;
}

void ir_names_list(StrBuf *sb, const char *const *names, int n) {
  for (int i = 0; i < n; i++) sb_printf(sb, "%s%s", i ? ", " : "", names[i]);
}

