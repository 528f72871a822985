/* A Bison parser, made by GNU Bison 3.8.2.  */

/* Bison implementation for Yacc-like parsers in C

   Copyright (C) 1984, 1989-1990, 2000-2015, 2018-2021 Free Software Foundation,
   Inc.

   This program is free software: you can redistribute it and/or modify
   it under the terms of the GNU General Public License as published by
   the Free Software Foundation, either version 3 of the License, or
   (at your option) any later version.

   This program is distributed in the hope that it will be useful,
   but WITHOUT ANY WARRANTY; without even the implied warranty of
   MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
   GNU General Public License for more details.

   You should have received a copy of the GNU General Public License
   along with this program.  If not, see <https://www.gnu.org/licenses/>.  */

/* As a special exception, you may create a larger work that contains
   part or all of the Bison parser skeleton and distribute that work
   under terms of your choice, so long as that work isn't itself a
   parser generator using the skeleton or a modified version thereof
   as a parser skeleton.  Alternatively, if you modify or redistribute
   the parser skeleton itself, you may (at your option) remove this
   special exception, which will cause the skeleton and the resulting
   Bison output files to be licensed under the GNU General Public
   License without this special exception.

   This special exception was added by the Free Software Foundation in
   version 2.2 of Bison.  */

/* C LALR(1) parser skeleton written by Richard Stallman, by
   simplifying the original so-called "semantic" parser.  */

/* DO NOT RELY ON FEATURES THAT ARE NOT DOCUMENTED in the manual,
   especially those whose name start with YY_ or yy_.  They are
   private implementation details that can be changed or removed.  */

/* All symbols defined below should begin with yy or YY, to avoid
   infringing on user name space.  This should be done even for local
   variables, as they might otherwise be expanded by user macros.
   There are some unavoidable exceptions within include files to
   define necessary library symbols; they are noted "INFRINGES ON
   USER NAME SPACE" below.  */

/* Identify Bison output, and Bison version.  */
#define YYBISON 30802

/* Bison version string.  */
#define YYBISON_VERSION "3.8.2"

/* Skeleton name.  */
#define YYSKELETON_NAME "yacc.c"

/* Pure parsers.  */
#define YYPURE 2

/* Push parsers.  */
#define YYPUSH 0

/* Pull parsers.  */
#define YYPULL 1

/* "%code top" blocks.  */

/* parser.y — the .jsc grammar (bison, pure, reentrant; the full grammar is in
 * spec/language.md).  It builds an AST in the parse's arena and nothing else: names, types
 * and calls are checked by the lowering (lower.c).
 *
 * Error recovery is at statement level (`error NEWLINE`) and at model level (`error '}'`),
 * so one run reports several syntax errors.  Messages are written by
 * yyreport_syntax_error in words ("unexpected ')', expected an expression"), with a hint
 * when a misspelt keyword is the likely cause. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wmissing-declarations"
#pragma GCC diagnostic ignored "-Wsign-compare"

/* Substitute the type names.  */
#define YYSTYPE         FE_YYSTYPE
#define YYLTYPE         FE_YYLTYPE
/* Substitute the variable and function names.  */
#define yyparse         fe_yyparse
#define yylex           fe_yylex
#define yyerror         fe_yyerror
#define yydebug         fe_yydebug
#define yynerrs         fe_yynerrs


# ifndef YY_CAST
#  ifdef __cplusplus
#   define YY_CAST(Type, Val) static_cast<Type> (Val)
#   define YY_REINTERPRET_CAST(Type, Val) reinterpret_cast<Type> (Val)
#  else
#   define YY_CAST(Type, Val) ((Type) (Val))
#   define YY_REINTERPRET_CAST(Type, Val) ((Type) (Val))
#  endif
# endif
# ifndef YY_NULLPTR
#  if defined __cplusplus
#   if 201103L <= __cplusplus
#    define YY_NULLPTR nullptr
#   else
#    define YY_NULLPTR 0
#   endif
#  else
#   define YY_NULLPTR ((void*)0)
#  endif
# endif

#include "parser.h"
/* Symbol kind.  */
enum yysymbol_kind_t
{
  YYSYMBOL_YYEMPTY = -2,
  YYSYMBOL_YYEOF = 0,                      /* "end of file"  */
  YYSYMBOL_YYerror = 1,                    /* error  */
  YYSYMBOL_YYUNDEF = 2,                    /* "invalid token"  */
  YYSYMBOL_IDENT = 3,                      /* IDENT  */
  YYSYMBOL_STRING = 4,                     /* STRING  */
  YYSYMBOL_INT = 5,                        /* INT  */
  YYSYMBOL_FLOAT = 6,                      /* FLOAT  */
  YYSYMBOL_MODEL = 7,                      /* MODEL  */
  YYSYMBOL_INPUT = 8,                      /* INPUT  */
  YYSYMBOL_PARAM = 9,                      /* PARAM  */
  YYSYMBOL_BUFFER = 10,                    /* BUFFER  */
  YYSYMBOL_RETURN = 11,                    /* RETURN  */
  YYSYMBOL_TRUE = 12,                      /* TRUE  */
  YYSYMBOL_FALSE = 13,                     /* FALSE  */
  YYSYMBOL_NONE = 14,                      /* NONE  */
  YYSYMBOL_POW = 15,                       /* POW  */
  YYSYMBOL_NEWLINE = 16,                   /* NEWLINE  */
  YYSYMBOL_17_ = 17,                       /* '+'  */
  YYSYMBOL_18_ = 18,                       /* '-'  */
  YYSYMBOL_19_ = 19,                       /* '*'  */
  YYSYMBOL_20_ = 20,                       /* '/'  */
  YYSYMBOL_21_ = 21,                       /* '@'  */
  YYSYMBOL_UNARY = 22,                     /* UNARY  */
  YYSYMBOL_23_ = 23,                       /* '('  */
  YYSYMBOL_24_ = 24,                       /* '.'  */
  YYSYMBOL_25_ = 25,                       /* '}'  */
  YYSYMBOL_26_ = 26,                       /* '{'  */
  YYSYMBOL_27_ = 27,                       /* ';'  */
  YYSYMBOL_28_ = 28,                       /* ':'  */
  YYSYMBOL_29_ = 29,                       /* '='  */
  YYSYMBOL_30_ = 30,                       /* '['  */
  YYSYMBOL_31_ = 31,                       /* ']'  */
  YYSYMBOL_32_ = 32,                       /* ','  */
  YYSYMBOL_33_ = 33,                       /* ')'  */
  YYSYMBOL_YYACCEPT = 34,                  /* $accept  */
  YYSYMBOL_file = 35,                      /* file  */
  YYSYMBOL_model = 36,                     /* model  */
  YYSYMBOL_stmts = 37,                     /* stmts  */
  YYSYMBOL_stmt_line = 38,                 /* stmt_line  */
  YYSYMBOL_stmt = 39,                      /* stmt  */
  YYSYMBOL_init = 40,                      /* init  */
  YYSYMBOL_type = 41,                      /* type  */
  YYSYMBOL_comma = 42,                     /* comma  */
  YYSYMBOL_exprs = 43,                     /* exprs  */
  YYSYMBOL_expr = 44,                      /* expr  */
  YYSYMBOL_args = 45,                      /* args  */
  YYSYMBOL_arglist = 46,                   /* arglist  */
  YYSYMBOL_arg = 47                        /* arg  */
};
typedef enum yysymbol_kind_t yysymbol_kind_t;



/* Unqualified %code blocks.  */

#include <string.h>

int fe_yylex(FE_YYSTYPE *lval, SrcLoc *lloc, void *scanner);
static void fe_yyerror(SrcLoc *loc, void *scanner, FeParser *p, const char *msg);
static void *stack_alloc(FeParser *p, size_t n);

/* The parser's stack grows through the allocation hook too; a failure is told apart from
 * the stack's depth limit (both make bison say "memory exhausted") by p->oom. */
#define YYMALLOC(n) stack_alloc(p, n)
#define YYFREE ir_free
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                                          \
  do {                                                                                       \
    if (N) (Cur) = YYRHSLOC(Rhs, 1);                                                         \
    else (Cur) = YYRHSLOC(Rhs, 0);                                                           \
  } while (0)

/* Arena exhausted inside an action: stop, fe_parse_ast reports JS_ENOMEM. */
#define NEED(x)                                                                              \
  do {                                                                                       \
    if (!(x)) {                                                                              \
      p->oom = true;                                                                         \
      YYABORT;                                                                               \
    }                                                                                        \
  } while (0)

/* An expression tree too deep for the lowering's recursion: report, recover. */
#define DEPTH(e)                                                                             \
  do {                                                                                       \
    if ((e)->depth > FE_MAX_DEPTH) {                                                         \
      diag_error(p->d, (e)->loc, "expression too complex (nested more than %d levels)",     \
                 FE_MAX_DEPTH);                                                              \
      YYERROR;                                                                               \
    }                                                                                        \
  } while (0)

static FeExpr *leaf(FeParser *p, FeExprKind k, SrcLoc loc) {
  return fe_expr_new(p->arena, k, loc);
}


#ifdef short
# undef short
#endif

/* On compilers that do not define __PTRDIFF_MAX__ etc., make sure
   <limits.h> and (if available) <stdint.h> are included
   so that the code can choose integer types of a good width.  */

#ifndef __PTRDIFF_MAX__
# include <limits.h> /* INFRINGES ON USER NAME SPACE */
# if defined __STDC_VERSION__ && 199901 <= __STDC_VERSION__
#  include <stdint.h> /* INFRINGES ON USER NAME SPACE */
#  define YY_STDINT_H
# endif
#endif

/* Narrow types that promote to a signed type and that can represent a
   signed or unsigned integer of at least N bits.  In tables they can
   save space and decrease cache pressure.  Promoting to a signed type
   helps avoid bugs in integer arithmetic.  */

#ifdef __INT_LEAST8_MAX__
typedef __INT_LEAST8_TYPE__ yytype_int8;
#elif defined YY_STDINT_H
typedef int_least8_t yytype_int8;
#else
typedef signed char yytype_int8;
#endif

#ifdef __INT_LEAST16_MAX__
typedef __INT_LEAST16_TYPE__ yytype_int16;
#elif defined YY_STDINT_H
typedef int_least16_t yytype_int16;
#else
typedef short yytype_int16;
#endif

/* Work around bug in HP-UX 11.23, which defines these macros
   incorrectly for preprocessor constants.  This workaround can likely
   be removed in 2023, as HPE has promised support for HP-UX 11.23
   (aka HP-UX 11i v2) only through the end of 2022; see Table 2 of
   <https://h20195.www2.hpe.com/V2/getpdf.aspx/4AA4-7673ENW.pdf>.  */
#ifdef __hpux
# undef UINT_LEAST8_MAX
# undef UINT_LEAST16_MAX
# define UINT_LEAST8_MAX 255
# define UINT_LEAST16_MAX 65535
#endif

#if defined __UINT_LEAST8_MAX__ && __UINT_LEAST8_MAX__ <= __INT_MAX__
typedef __UINT_LEAST8_TYPE__ yytype_uint8;
#elif (!defined __UINT_LEAST8_MAX__ && defined YY_STDINT_H \
       && UINT_LEAST8_MAX <= INT_MAX)
typedef uint_least8_t yytype_uint8;
#elif !defined __UINT_LEAST8_MAX__ && UCHAR_MAX <= INT_MAX
typedef unsigned char yytype_uint8;
#else
typedef short yytype_uint8;
#endif

#if defined __UINT_LEAST16_MAX__ && __UINT_LEAST16_MAX__ <= __INT_MAX__
typedef __UINT_LEAST16_TYPE__ yytype_uint16;
#elif (!defined __UINT_LEAST16_MAX__ && defined YY_STDINT_H \
       && UINT_LEAST16_MAX <= INT_MAX)
typedef uint_least16_t yytype_uint16;
#elif !defined __UINT_LEAST16_MAX__ && USHRT_MAX <= INT_MAX
typedef unsigned short yytype_uint16;
#else
typedef int yytype_uint16;
#endif

#ifndef YYPTRDIFF_T
# if defined __PTRDIFF_TYPE__ && defined __PTRDIFF_MAX__
#  define YYPTRDIFF_T __PTRDIFF_TYPE__
#  define YYPTRDIFF_MAXIMUM __PTRDIFF_MAX__
# elif defined PTRDIFF_MAX
#  ifndef ptrdiff_t
#   include <stddef.h> /* INFRINGES ON USER NAME SPACE */
#  endif
#  define YYPTRDIFF_T ptrdiff_t
#  define YYPTRDIFF_MAXIMUM PTRDIFF_MAX
# else
#  define YYPTRDIFF_T long
#  define YYPTRDIFF_MAXIMUM LONG_MAX
# endif
#endif

#ifndef YYSIZE_T
# ifdef __SIZE_TYPE__
#  define YYSIZE_T __SIZE_TYPE__
# elif defined size_t
#  define YYSIZE_T size_t
# elif defined __STDC_VERSION__ && 199901 <= __STDC_VERSION__
#  include <stddef.h> /* INFRINGES ON USER NAME SPACE */
#  define YYSIZE_T size_t
# else
#  define YYSIZE_T unsigned
# endif
#endif

#define YYSIZE_MAXIMUM                                  \
  YY_CAST (YYPTRDIFF_T,                                 \
           (YYPTRDIFF_MAXIMUM < YY_CAST (YYSIZE_T, -1)  \
            ? YYPTRDIFF_MAXIMUM                         \
            : YY_CAST (YYSIZE_T, -1)))

#define YYSIZEOF(X) YY_CAST (YYPTRDIFF_T, sizeof (X))


/* Stored state numbers (used for stacks). */
typedef yytype_int8 yy_state_t;

/* State numbers in computations.  */
typedef int yy_state_fast_t;

#ifndef YY_
# if defined YYENABLE_NLS && YYENABLE_NLS
#  if ENABLE_NLS
#   include <libintl.h> /* INFRINGES ON USER NAME SPACE */
#   define YY_(Msgid) dgettext ("bison-runtime", Msgid)
#  endif
# endif
# ifndef YY_
#  define YY_(Msgid) Msgid
# endif
#endif


#ifndef YY_ATTRIBUTE_PURE
# if defined __GNUC__ && 2 < __GNUC__ + (96 <= __GNUC_MINOR__)
#  define YY_ATTRIBUTE_PURE __attribute__ ((__pure__))
# else
#  define YY_ATTRIBUTE_PURE
# endif
#endif

#ifndef YY_ATTRIBUTE_UNUSED
# if defined __GNUC__ && 2 < __GNUC__ + (7 <= __GNUC_MINOR__)
#  define YY_ATTRIBUTE_UNUSED __attribute__ ((__unused__))
# else
#  define YY_ATTRIBUTE_UNUSED
# endif
#endif

/* Suppress unused-variable warnings by "using" E.  */
#if ! defined lint || defined __GNUC__
# define YY_USE(E) ((void) (E))
#else
# define YY_USE(E) /* empty */
#endif

/* Suppress an incorrect diagnostic about yylval being uninitialized.  */
#if defined __GNUC__ && ! defined __ICC && 406 <= __GNUC__ * 100 + __GNUC_MINOR__
# if __GNUC__ * 100 + __GNUC_MINOR__ < 407
#  define YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN                           \
    _Pragma ("GCC diagnostic push")                                     \
    _Pragma ("GCC diagnostic ignored \"-Wuninitialized\"")
# else
#  define YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN                           \
    _Pragma ("GCC diagnostic push")                                     \
    _Pragma ("GCC diagnostic ignored \"-Wuninitialized\"")              \
    _Pragma ("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
# endif
# define YY_IGNORE_MAYBE_UNINITIALIZED_END      \
    _Pragma ("GCC diagnostic pop")
#else
# define YY_INITIAL_VALUE(Value) Value
#endif
#ifndef YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN
# define YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN
# define YY_IGNORE_MAYBE_UNINITIALIZED_END
#endif
#ifndef YY_INITIAL_VALUE
# define YY_INITIAL_VALUE(Value) /* Nothing. */
#endif

#if defined __cplusplus && defined __GNUC__ && ! defined __ICC && 6 <= __GNUC__
# define YY_IGNORE_USELESS_CAST_BEGIN                          \
    _Pragma ("GCC diagnostic push")                            \
    _Pragma ("GCC diagnostic ignored \"-Wuseless-cast\"")
# define YY_IGNORE_USELESS_CAST_END            \
    _Pragma ("GCC diagnostic pop")
#endif
#ifndef YY_IGNORE_USELESS_CAST_BEGIN
# define YY_IGNORE_USELESS_CAST_BEGIN
# define YY_IGNORE_USELESS_CAST_END
#endif


#define YY_ASSERT(E) ((void) (0 && (E)))

#if 1

/* The parser invokes alloca or malloc; define the necessary symbols.  */

# ifdef YYSTACK_USE_ALLOCA
#  if YYSTACK_USE_ALLOCA
#   ifdef __GNUC__
#    define YYSTACK_ALLOC __builtin_alloca
#   elif defined __BUILTIN_VA_ARG_INCR
#    include <alloca.h> /* INFRINGES ON USER NAME SPACE */
#   elif defined _AIX
#    define YYSTACK_ALLOC __alloca
#   elif defined _MSC_VER
#    include <malloc.h> /* INFRINGES ON USER NAME SPACE */
#    define alloca _alloca
#   else
#    define YYSTACK_ALLOC alloca
#    if ! defined _ALLOCA_H && ! defined EXIT_SUCCESS
#     include <stdlib.h> /* INFRINGES ON USER NAME SPACE */
      /* Use EXIT_SUCCESS as a witness for stdlib.h.  */
#     ifndef EXIT_SUCCESS
#      define EXIT_SUCCESS 0
#     endif
#    endif
#   endif
#  endif
# endif

# ifdef YYSTACK_ALLOC
   /* Pacify GCC's 'empty if-body' warning.  */
#  define YYSTACK_FREE(Ptr) do { /* empty */; } while (0)
#  ifndef YYSTACK_ALLOC_MAXIMUM
    /* The OS might guarantee only one guard page at the bottom of the stack,
       and a page size can be as small as 4096 bytes.  So we cannot safely
       invoke alloca (N) if N exceeds 4096.  Use a slightly smaller number
       to allow for a few compiler-allocated temporary stack slots.  */
#   define YYSTACK_ALLOC_MAXIMUM 4032 /* reasonable circa 2006 */
#  endif
# else
#  define YYSTACK_ALLOC YYMALLOC
#  define YYSTACK_FREE YYFREE
#  ifndef YYSTACK_ALLOC_MAXIMUM
#   define YYSTACK_ALLOC_MAXIMUM YYSIZE_MAXIMUM
#  endif
#  if (defined __cplusplus && ! defined EXIT_SUCCESS \
       && ! ((defined YYMALLOC || defined malloc) \
             && (defined YYFREE || defined free)))
#   include <stdlib.h> /* INFRINGES ON USER NAME SPACE */
#   ifndef EXIT_SUCCESS
#    define EXIT_SUCCESS 0
#   endif
#  endif
#  ifndef YYMALLOC
#   define YYMALLOC malloc
#   if ! defined malloc && ! defined EXIT_SUCCESS
void *malloc (YYSIZE_T); /* INFRINGES ON USER NAME SPACE */
#   endif
#  endif
#  ifndef YYFREE
#   define YYFREE free
#   if ! defined free && ! defined EXIT_SUCCESS
void free (void *); /* INFRINGES ON USER NAME SPACE */
#   endif
#  endif
# endif
#endif /* 1 */

#if (! defined yyoverflow \
     && (! defined __cplusplus \
         || (defined FE_YYLTYPE_IS_TRIVIAL && FE_YYLTYPE_IS_TRIVIAL \
             && defined FE_YYSTYPE_IS_TRIVIAL && FE_YYSTYPE_IS_TRIVIAL)))

/* A type that is properly aligned for any stack member.  */
union yyalloc
{
  yy_state_t yyss_alloc;
  YYSTYPE yyvs_alloc;
  YYLTYPE yyls_alloc;
};

/* The size of the maximum gap between one aligned stack and the next.  */
# define YYSTACK_GAP_MAXIMUM (YYSIZEOF (union yyalloc) - 1)

/* The size of an array large to enough to hold all stacks, each with
   N elements.  */
# define YYSTACK_BYTES(N) \
     ((N) * (YYSIZEOF (yy_state_t) + YYSIZEOF (YYSTYPE) \
             + YYSIZEOF (YYLTYPE)) \
      + 2 * YYSTACK_GAP_MAXIMUM)

# define YYCOPY_NEEDED 1

/* Relocate STACK from its old location to the new one.  The
   local variables YYSIZE and YYSTACKSIZE give the old and new number of
   elements in the stack, and YYPTR gives the new location of the
   stack.  Advance YYPTR to a properly aligned location for the next
   stack.  */
# define YYSTACK_RELOCATE(Stack_alloc, Stack)                           \
    do                                                                  \
      {                                                                 \
        YYPTRDIFF_T yynewbytes;                                         \
        YYCOPY (&yyptr->Stack_alloc, Stack, yysize);                    \
        Stack = &yyptr->Stack_alloc;                                    \
        yynewbytes = yystacksize * YYSIZEOF (*Stack) + YYSTACK_GAP_MAXIMUM; \
        yyptr += yynewbytes / YYSIZEOF (*yyptr);                        \
      }                                                                 \
    while (0)

#endif

#if defined YYCOPY_NEEDED && YYCOPY_NEEDED
/* Copy COUNT objects from SRC to DST.  The source and destination do
   not overlap.  */
# ifndef YYCOPY
#  if defined __GNUC__ && 1 < __GNUC__
#   define YYCOPY(Dst, Src, Count) \
      __builtin_memcpy (Dst, Src, YY_CAST (YYSIZE_T, (Count)) * sizeof (*(Src)))
#  else
#   define YYCOPY(Dst, Src, Count)              \
      do                                        \
        {                                       \
          YYPTRDIFF_T yyi;                      \
          for (yyi = 0; yyi < (Count); yyi++)   \
            (Dst)[yyi] = (Src)[yyi];            \
        }                                       \
      while (0)
#  endif
# endif
#endif /* !YYCOPY_NEEDED */

/* YYFINAL -- State number of the termination state.  */
#define YYFINAL  2
/* YYLAST -- Last index in YYTABLE.  */
#define YYLAST   810

/* YYNTOKENS -- Number of terminals.  */
#define YYNTOKENS  34
/* YYNNTS -- Number of nonterminals.  */
#define YYNNTS  14
/* YYNRULES -- Number of rules.  */
#define YYNRULES  51
/* YYNSTATES -- Number of states.  */
#define YYNSTATES  93

/* YYMAXUTOK -- Last valid token kind.  */
#define YYMAXUTOK   272


/* YYTRANSLATE(TOKEN-NUM) -- Symbol number corresponding to TOKEN-NUM
   as returned by yylex, with out-of-bounds checking.  */
#define YYTRANSLATE(YYX)                                \
  (0 <= (YYX) && (YYX) <= YYMAXUTOK                     \
   ? YY_CAST (yysymbol_kind_t, yytranslate[YYX])        \
   : YYSYMBOL_YYUNDEF)

/* YYTRANSLATE[TOKEN-NUM] -- Symbol number corresponding to TOKEN-NUM
   as returned by yylex.  */
static const yytype_int8 yytranslate[] =
{
       0,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
      23,    33,    19,    17,    32,    18,    24,    20,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,    28,    27,
       2,    29,     2,     2,    21,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,    30,     2,    31,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,    26,     2,    25,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     2,     2,     2,     2,
       2,     2,     2,     2,     2,     2,     1,     2,     3,     4,
       5,     6,     7,     8,     9,    10,    11,    12,    13,    14,
      15,    16,    22
};

#if FE_YYDEBUG
/* YYRLINE[YYN] -- Source line where rule number YYN was defined.  */
static const yytype_int16 yyrline[] =
{
       0,   106,   106,   107,   108,   113,   123,   124,   129,   130,
     131,   140,   144,   148,   152,   156,   160,   167,   168,   173,
     177,   181,   188,   189,   193,   194,   208,   209,   210,   211,
     212,   213,   214,   215,   216,   229,   234,   240,   241,   242,
     243,   244,   245,   246,   247,   252,   253,   257,   258,   265,
     266,   267
};
#endif

/** Accessing symbol of state STATE.  */
#define YY_ACCESSING_SYMBOL(State) YY_CAST (yysymbol_kind_t, yystos[State])

#if 1
/* The user-facing name of the symbol whose (internal) number is
   YYSYMBOL.  No bounds checking.  */
static const char *yysymbol_name (yysymbol_kind_t yysymbol) YY_ATTRIBUTE_UNUSED;

static const char *
yysymbol_name (yysymbol_kind_t yysymbol)
{
  static const char *const yy_sname[] =
  {
  "end of file", "error", "invalid token", "IDENT", "STRING", "INT",
  "FLOAT", "MODEL", "INPUT", "PARAM", "BUFFER", "RETURN", "TRUE", "FALSE",
  "NONE", "POW", "NEWLINE", "'+'", "'-'", "'*'", "'/'", "'@'", "UNARY",
  "'('", "'.'", "'}'", "'{'", "';'", "':'", "'='", "'['", "']'", "','",
  "')'", "$accept", "file", "model", "stmts", "stmt_line", "stmt", "init",
  "type", "comma", "exprs", "expr", "args", "arglist", "arg", YY_NULLPTR
  };
  return yy_sname[yysymbol];
}
#endif

#define YYPACT_NINF (-28)

#define yypact_value_is_default(Yyn) \
  ((Yyn) == YYPACT_NINF)

#define YYTABLE_NINF (-52)

#define yytable_value_is_error(Yyn) \
  0

/* YYPACT[STATE-NUM] -- Index in YYTABLE of the portion describing
   STATE-NUM.  */
static const yytype_int16 yypact[] =
{
     117,   127,   -28,   -22,    23,   147,   170,   -19,   132,   155,
      14,   742,   258,   277,   296,    45,    56,    74,     5,   315,
     334,   353,     5,     5,     5,   193,   178,   -15,   757,   201,
       5,    52,    66,    71,   372,     0,   706,   391,   410,   695,
     224,   247,     5,     5,     5,     5,     5,     5,    38,    -1,
     770,    88,    88,    88,     5,   429,   448,   467,   486,   505,
     524,   543,   619,    72,   638,    75,   -27,    -8,   562,   581,
      33,     4,    41,    41,   724,     5,     5,   600,    70,    83,
      92,     5,    13,    31,   657,   676,    21,    63,    54,   783,
     108,    76,    73
};

/* YYDEFACT[STATE-NUM] -- Default reduction number in state STATE-NUM.
   Performed when YYTABLE does not specify something else to do.  Zero
   means the default is an error.  */
static const yytype_int8 yydefact[] =
{
       0,     0,     1,     0,     0,     0,     0,     0,     0,     0,
       0,     0,     0,     0,     0,     0,     0,     0,     0,     0,
       0,     0,     0,     0,     0,     0,     0,     0,     0,     0,
       0,     0,     0,     0,     0,     0,     0,     0,     0,     0,
       0,     0,     0,     0,     0,     0,     0,     0,     0,     0,
       0,     0,     0,     0,     0,     0,     0,     0,     0,     0,
       0,     0,     0,     0,     0,     0,     0,     0,     0,     0,
       0,     0,     0,     0,     0,     0,     0,     0,     0,     0,
       0,     0,     0,     0,     0,     0,     0,     0,     0,     0,
       0,     0,     0
};

/* YYPGOTO[NTERM-NUM].  */
static const yytype_int8 yypgoto[] =
{
     -28,   -28,   -28,   -28,   -28,   -28,    46,    12,    42,    49,
      -9,   -28,   -28,    84
};

/* YYDEFGOTO[NTERM-NUM].  */
static const yytype_int8 yydefgoto[] =
{
       0,     1,     5,     9,    26,    27,    82,    71,    79,    35,
      36,    65,    66,    67
};

/* YYTABLE[YYPACT[STATE-NUM]] -- What to do in state STATE-NUM.  If
   positive, shift that token.  If negative, reduce the rule whose
   number is the opposite.  If YYTABLE_NINF, syntax error.  */
static const yytype_int8 yytable[] =
{
      28,    40,    68,     6,    69,    78,   -22,     8,    34,    12,
      13,    14,    41,    37,    38,    39,   -16,    19,    20,    21,
     -11,    50,    22,    23,   -47,   -47,     7,   -16,    24,   -12,
      29,   -11,    54,    56,    57,    58,    59,    60,    61,    64,
     -12,    62,    12,    13,    14,    74,    63,   -13,    31,   -19,
      19,    20,    21,   -48,   -48,    22,    23,   -17,   -13,    32,
     -19,    24,   -19,    80,    72,    73,    84,    85,   -17,    64,
      81,   -45,    89,    62,    12,    13,    14,    33,    63,   -20,
      51,    74,    19,    20,    21,   -22,    90,    22,    23,   -21,
     -20,    70,   -20,    24,    52,    34,    12,    13,    14,    53,
     -21,    76,   -21,   -23,    19,    20,    21,    92,    77,    22,
      23,    34,    12,    13,    14,    24,   -46,    -2,    -2,    83,
      19,    20,    21,    87,    -2,    22,    23,     2,     3,    88,
      91,    24,     0,    -6,     4,    -6,    -6,    -6,    -6,   -23,
      -6,    -6,    -6,    -6,    -6,    -6,    -6,    -3,    -3,    -6,
      -6,     0,     0,     0,    -3,    -6,    10,    -6,    11,    12,
      13,    14,    86,    15,    16,    17,    18,    19,    20,    21,
      -4,    -4,    22,    23,     0,     0,     0,    -4,    24,    -7,
      25,    -7,    -7,    -7,    -7,     0,    -7,    -7,    -7,    -7,
      -7,    -7,    -7,    -5,    -5,    -7,    -7,     0,     0,     0,
      -5,    -7,   -10,    -7,   -10,   -10,   -10,   -10,     0,   -10,
     -10,   -10,   -10,   -10,   -10,   -10,     0,     0,   -10,   -10,
       0,     0,     0,     0,   -10,    -8,   -10,    -8,    -8,    -8,
      -8,     0,    -8,    -8,    -8,    -8,    -8,    -8,    -8,     0,
       0,    -8,    -8,     0,     0,     0,     0,    -8,    -9,    -8,
      -9,    -9,    -9,    -9,     0,    -9,    -9,    -9,    -9,    -9,
      -9,    -9,     0,     0,    -9,    -9,     0,     0,     0,     0,
      -9,     0,    -9,   -40,   -40,   -40,   -40,   -40,   -40,   -40,
       0,   -40,   -40,     0,     0,   -40,     0,     0,     0,   -40,
     -40,   -40,   -38,   -38,   -38,   -38,   -38,   -38,   -38,     0,
     -38,   -38,     0,     0,   -38,     0,     0,     0,   -38,   -38,
     -38,   -39,   -39,   -39,   -39,   -39,   -39,   -39,     0,   -39,
     -39,     0,     0,   -39,     0,     0,     0,   -39,   -39,   -39,
     -41,   -41,   -41,   -41,   -41,   -41,   -41,     0,   -41,   -41,
       0,     0,   -41,     0,     0,     0,   -41,   -41,   -41,   -42,
     -42,   -42,   -42,   -42,   -42,   -42,     0,   -42,   -42,     0,
       0,   -42,     0,     0,     0,   -42,   -42,   -42,   -43,   -43,
     -43,   -43,   -43,   -43,   -43,     0,   -43,   -43,     0,     0,
     -43,     0,     0,     0,   -43,   -43,   -43,   -37,   -37,   -37,
     -37,   -37,   -37,   -37,     0,   -37,   -37,     0,     0,   -37,
       0,     0,     0,   -37,   -37,   -37,    42,   -33,   -33,   -33,
     -33,   -33,   -33,     0,    48,    49,     0,     0,   -33,     0,
       0,     0,   -33,   -33,   -33,    42,   -32,   -32,   -32,   -32,
     -32,   -32,     0,    48,    49,     0,     0,   -32,     0,     0,
       0,   -32,   -32,   -32,   -44,   -44,   -44,   -44,   -44,   -44,
     -44,     0,   -44,   -44,     0,     0,   -44,     0,     0,     0,
     -44,   -44,   -44,    42,   -31,   -31,   -31,   -31,   -31,   -31,
       0,    48,    49,     0,     0,   -31,     0,     0,     0,   -31,
     -31,   -31,    42,   -26,   -26,   -26,    45,    46,    47,     0,
      48,    49,     0,     0,   -26,     0,     0,     0,   -26,   -26,
     -26,    42,   -27,   -27,   -27,    45,    46,    47,     0,    48,
      49,     0,     0,   -27,     0,     0,     0,   -27,   -27,   -27,
      42,   -28,   -28,   -28,   -28,   -28,   -28,     0,    48,    49,
       0,     0,   -28,     0,     0,     0,   -28,   -28,   -28,    42,
     -29,   -29,   -29,   -29,   -29,   -29,     0,    48,    49,     0,
       0,   -29,     0,     0,     0,   -29,   -29,   -29,    42,   -30,
     -30,   -30,   -30,   -30,   -30,     0,    48,    49,     0,     0,
     -30,     0,     0,     0,   -30,   -30,   -30,   -35,   -35,   -35,
     -35,   -35,   -35,   -35,     0,   -35,   -35,     0,     0,   -35,
       0,     0,     0,   -35,   -35,   -35,   -36,   -36,   -36,   -36,
     -36,   -36,   -36,     0,   -36,   -36,     0,     0,   -36,     0,
       0,     0,   -36,   -36,   -36,   -34,   -34,   -34,   -34,   -34,
     -34,   -34,     0,   -34,   -34,     0,     0,   -34,     0,     0,
       0,   -34,   -34,   -34,   -37,     0,   -37,   -37,   -37,   -37,
     -37,     0,   -37,   -37,     0,     0,     0,     0,    75,     0,
       0,   -37,   -37,    42,     0,    43,    44,    45,    46,    47,
       0,    48,    49,     0,     0,     0,     0,     0,     0,     0,
     -49,   -49,    42,     0,    43,    44,    45,    46,    47,     0,
      48,    49,     0,     0,     0,     0,     0,     0,     0,   -50,
     -50,    42,     0,    43,    44,    45,    46,    47,     0,    48,
      49,     0,     0,     0,     0,     0,     0,     0,   -51,   -51,
      42,     0,    43,    44,    45,    46,    47,     0,    48,    49,
       0,    42,   -24,    43,    44,    45,    46,    47,    55,    48,
      49,     0,     0,   -24,     0,     0,     0,   -24,   -24,    42,
     -25,    43,    44,    45,    46,    47,     0,    48,    49,     0,
       0,   -25,     0,     0,     0,   -25,   -25,   -37,   -37,   -37,
     -37,   -37,   -37,   -37,     0,   -37,   -37,     0,     0,   -37,
       0,    30,    42,   -15,    43,    44,    45,    46,    47,     0,
      48,    49,     0,     0,   -15,    42,   -14,    43,    44,    45,
      46,    47,     0,    48,    49,     0,     0,   -14,    42,   -18,
      43,    44,    45,    46,    47,     0,    48,    49,     0,     0,
     -18
};

static const yytype_int8 yycheck[] =
{
       9,    16,     3,    25,     5,    32,    33,    26,     3,     4,
       5,     6,    27,    22,    23,    24,    16,    12,    13,    14,
      16,    30,    17,    18,    32,    33,     3,    27,    23,    16,
      16,    27,    32,    42,    43,    44,    45,    46,    47,    48,
      27,     3,     4,     5,     6,    54,     8,    16,     3,    16,
      12,    13,    14,    32,    33,    17,    18,    16,    27,     3,
      27,    23,    29,    30,    52,    53,    75,    76,    27,    78,
      29,    33,    81,     3,     4,     5,     6,     3,     8,    16,
      28,    90,    12,    13,    14,    31,    32,    17,    18,    16,
      27,     3,    29,    23,    28,     3,     4,     5,     6,    28,
      27,    29,    29,    33,    12,    13,    14,    31,    33,    17,
      18,     3,     4,     5,     6,    23,    33,     0,     1,    73,
      12,    13,    14,    31,     7,    17,    18,     0,     1,    80,
      88,    23,    -1,     1,     7,     3,     4,     5,     6,    31,
       8,     9,    10,    11,    12,    13,    14,     0,     1,    17,
      18,    -1,    -1,    -1,     7,    23,     1,    25,     3,     4,
       5,     6,    78,     8,     9,    10,    11,    12,    13,    14,
       0,     1,    17,    18,    -1,    -1,    -1,     7,    23,     1,
      25,     3,     4,     5,     6,    -1,     8,     9,    10,    11,
      12,    13,    14,     0,     1,    17,    18,    -1,    -1,    -1,
       7,    23,     1,    25,     3,     4,     5,     6,    -1,     8,
       9,    10,    11,    12,    13,    14,    -1,    -1,    17,    18,
      -1,    -1,    -1,    -1,    23,     1,    25,     3,     4,     5,
       6,    -1,     8,     9,    10,    11,    12,    13,    14,    -1,
      -1,    17,    18,    -1,    -1,    -1,    -1,    23,     1,    25,
       3,     4,     5,     6,    -1,     8,     9,    10,    11,    12,
      13,    14,    -1,    -1,    17,    18,    -1,    -1,    -1,    -1,
      23,    -1,    25,    15,    16,    17,    18,    19,    20,    21,
      -1,    23,    24,    -1,    -1,    27,    -1,    -1,    -1,    31,
      32,    33,    15,    16,    17,    18,    19,    20,    21,    -1,
      23,    24,    -1,    -1,    27,    -1,    -1,    -1,    31,    32,
      33,    15,    16,    17,    18,    19,    20,    21,    -1,    23,
      24,    -1,    -1,    27,    -1,    -1,    -1,    31,    32,    33,
      15,    16,    17,    18,    19,    20,    21,    -1,    23,    24,
      -1,    -1,    27,    -1,    -1,    -1,    31,    32,    33,    15,
      16,    17,    18,    19,    20,    21,    -1,    23,    24,    -1,
      -1,    27,    -1,    -1,    -1,    31,    32,    33,    15,    16,
      17,    18,    19,    20,    21,    -1,    23,    24,    -1,    -1,
      27,    -1,    -1,    -1,    31,    32,    33,    15,    16,    17,
      18,    19,    20,    21,    -1,    23,    24,    -1,    -1,    27,
      -1,    -1,    -1,    31,    32,    33,    15,    16,    17,    18,
      19,    20,    21,    -1,    23,    24,    -1,    -1,    27,    -1,
      -1,    -1,    31,    32,    33,    15,    16,    17,    18,    19,
      20,    21,    -1,    23,    24,    -1,    -1,    27,    -1,    -1,
      -1,    31,    32,    33,    15,    16,    17,    18,    19,    20,
      21,    -1,    23,    24,    -1,    -1,    27,    -1,    -1,    -1,
      31,    32,    33,    15,    16,    17,    18,    19,    20,    21,
      -1,    23,    24,    -1,    -1,    27,    -1,    -1,    -1,    31,
      32,    33,    15,    16,    17,    18,    19,    20,    21,    -1,
      23,    24,    -1,    -1,    27,    -1,    -1,    -1,    31,    32,
      33,    15,    16,    17,    18,    19,    20,    21,    -1,    23,
      24,    -1,    -1,    27,    -1,    -1,    -1,    31,    32,    33,
      15,    16,    17,    18,    19,    20,    21,    -1,    23,    24,
      -1,    -1,    27,    -1,    -1,    -1,    31,    32,    33,    15,
      16,    17,    18,    19,    20,    21,    -1,    23,    24,    -1,
      -1,    27,    -1,    -1,    -1,    31,    32,    33,    15,    16,
      17,    18,    19,    20,    21,    -1,    23,    24,    -1,    -1,
      27,    -1,    -1,    -1,    31,    32,    33,    15,    16,    17,
      18,    19,    20,    21,    -1,    23,    24,    -1,    -1,    27,
      -1,    -1,    -1,    31,    32,    33,    15,    16,    17,    18,
      19,    20,    21,    -1,    23,    24,    -1,    -1,    27,    -1,
      -1,    -1,    31,    32,    33,    15,    16,    17,    18,    19,
      20,    21,    -1,    23,    24,    -1,    -1,    27,    -1,    -1,
      -1,    31,    32,    33,    15,    -1,    17,    18,    19,    20,
      21,    -1,    23,    24,    -1,    -1,    -1,    -1,    29,    -1,
      -1,    32,    33,    15,    -1,    17,    18,    19,    20,    21,
      -1,    23,    24,    -1,    -1,    -1,    -1,    -1,    -1,    -1,
      32,    33,    15,    -1,    17,    18,    19,    20,    21,    -1,
      23,    24,    -1,    -1,    -1,    -1,    -1,    -1,    -1,    32,
      33,    15,    -1,    17,    18,    19,    20,    21,    -1,    23,
      24,    -1,    -1,    -1,    -1,    -1,    -1,    -1,    32,    33,
      15,    -1,    17,    18,    19,    20,    21,    -1,    23,    24,
      -1,    15,    16,    17,    18,    19,    20,    21,    33,    23,
      24,    -1,    -1,    27,    -1,    -1,    -1,    31,    32,    15,
      16,    17,    18,    19,    20,    21,    -1,    23,    24,    -1,
      -1,    27,    -1,    -1,    -1,    31,    32,    15,    16,    17,
      18,    19,    20,    21,    -1,    23,    24,    -1,    -1,    27,
      -1,    29,    15,    16,    17,    18,    19,    20,    21,    -1,
      23,    24,    -1,    -1,    27,    15,    16,    17,    18,    19,
      20,    21,    -1,    23,    24,    -1,    -1,    27,    15,    16,
      17,    18,    19,    20,    21,    -1,    23,    24,    -1,    -1,
      27
};

/* YYSTOS[STATE-NUM] -- The symbol kind of the accessing symbol of
   state STATE-NUM.  */
static const yytype_int8 yystos[] =
{
       0,    35,     0,     1,     7,    36,    25,     3,    26,    37,
       1,     3,     4,     5,     6,     8,     9,    10,    11,    12,
      13,    14,    17,    18,    23,    25,    38,    39,    44,    16,
      29,     3,     3,     3,     3,    43,    44,    44,    44,    44,
      16,    27,    15,    17,    18,    19,    20,    21,    23,    24,
      44,    28,    28,    28,    32,    33,    44,    44,    44,    44,
      44,    44,     3,     8,    44,    45,    46,    47,     3,     5,
       3,    41,    41,    41,    44,    29,    29,    33,    32,    42,
      30,    29,    40,    40,    44,    44,    47,    31,    43,    44,
      32,    42,    31
};

/* YYR1[RULE-NUM] -- Symbol kind of the left-hand side of rule RULE-NUM.  */
static const yytype_int8 yyr1[] =
{
       0,    34,    35,    35,    35,    36,    37,    37,    38,    38,
      38,    39,    39,    39,    39,    39,    39,    40,    40,    41,
      41,    41,    42,    42,    43,    43,    44,    44,    44,    44,
      44,    44,    44,    44,    44,    44,    44,    44,    44,    44,
      44,    44,    44,    44,    44,    45,    45,    46,    46,    47,
      47,    47
};

/* YYR2[RULE-NUM] -- Number of symbols on the right-hand side of rule RULE-NUM.  */
static const yytype_int8 yyr2[] =
{
       0,     2,     0,     2,     3,     5,     0,     2,     2,     2,
       2,     4,     5,     5,     3,     1,     2,     0,     2,     1,
       3,     5,     0,     1,     1,     3,     3,     3,     3,     3,
       3,     3,     2,     2,     4,     3,     3,     1,     1,     1,
       1,     1,     1,     1,     3,     0,     2,     1,     3,     1,
       3,     3
};


enum { YYENOMEM = -2 };

#define yyerrok         (yyerrstatus = 0)
#define yyclearin       (yychar = T_FE_YYEMPTY)

#define YYACCEPT        goto yyacceptlab
#define YYABORT         goto yyabortlab
#define YYERROR         goto yyerrorlab
#define YYNOMEM         goto yyexhaustedlab


#define YYRECOVERING()  (!!yyerrstatus)

#define YYBACKUP(Token, Value)                                    \
  do                                                              \
    if (yychar == T_FE_YYEMPTY)                                        \
      {                                                           \
        yychar = (Token);                                         \
        yylval = (Value);                                         \
        YYPOPSTACK (yylen);                                       \
        yystate = *yyssp;                                         \
        goto yybackup;                                            \
      }                                                           \
    else                                                          \
      {                                                           \
        yyerror (&yylloc, scanner, p, YY_("syntax error: cannot back up")); \
        YYERROR;                                                  \
      }                                                           \
  while (0)

/* Backward compatibility with an undocumented macro.
   Use T_FE_YYerror or T_FE_YYUNDEF. */
#define YYERRCODE T_FE_YYUNDEF

/* YYLLOC_DEFAULT -- Set CURRENT to span from RHS[1] to RHS[N].
   If N is 0, then set CURRENT to the empty location which ends
   the previous symbol: RHS[0] (always defined).  */

#ifndef YYLLOC_DEFAULT
# define YYLLOC_DEFAULT(Current, Rhs, N)                                \
    do                                                                  \
      if (N)                                                            \
        {                                                               \
          (Current).first_line   = YYRHSLOC (Rhs, 1).first_line;        \
          (Current).first_column = YYRHSLOC (Rhs, 1).first_column;      \
          (Current).last_line    = YYRHSLOC (Rhs, N).last_line;         \
          (Current).last_column  = YYRHSLOC (Rhs, N).last_column;       \
        }                                                               \
      else                                                              \
        {                                                               \
          (Current).first_line   = (Current).last_line   =              \
            YYRHSLOC (Rhs, 0).last_line;                                \
          (Current).first_column = (Current).last_column =              \
            YYRHSLOC (Rhs, 0).last_column;                              \
        }                                                               \
    while (0)
#endif

#define YYRHSLOC(Rhs, K) ((Rhs)[K])


/* Enable debugging if requested.  */
#if FE_YYDEBUG

# ifndef YYFPRINTF
#  include <stdio.h> /* INFRINGES ON USER NAME SPACE */
#  define YYFPRINTF fprintf
# endif

# define YYDPRINTF(Args)                        \
do {                                            \
  if (yydebug)                                  \
    YYFPRINTF Args;                             \
} while (0)


/* YYLOCATION_PRINT -- Print the location on the stream.
   This macro was not mandated originally: define only if we know
   we won't break user code: when these are the locations we know.  */

# ifndef YYLOCATION_PRINT

#  if defined YY_LOCATION_PRINT

   /* Temporary convenience wrapper in case some people defined the
      undocumented and private YY_LOCATION_PRINT macros.  */
#   define YYLOCATION_PRINT(File, Loc)  YY_LOCATION_PRINT(File, *(Loc))

#  elif defined FE_YYLTYPE_IS_TRIVIAL && FE_YYLTYPE_IS_TRIVIAL

/* Print *YYLOCP on YYO.  Private, do not rely on its existence. */

YY_ATTRIBUTE_UNUSED
static int
yy_location_print_ (FILE *yyo, YYLTYPE const * const yylocp)
{
  int res = 0;
  int end_col = 0 != yylocp->last_column ? yylocp->last_column - 1 : 0;
  if (0 <= yylocp->first_line)
    {
      res += YYFPRINTF (yyo, "%d", yylocp->first_line);
      if (0 <= yylocp->first_column)
        res += YYFPRINTF (yyo, ".%d", yylocp->first_column);
    }
  if (0 <= yylocp->last_line)
    {
      if (yylocp->first_line < yylocp->last_line)
        {
          res += YYFPRINTF (yyo, "-%d", yylocp->last_line);
          if (0 <= end_col)
            res += YYFPRINTF (yyo, ".%d", end_col);
        }
      else if (0 <= end_col && yylocp->first_column < end_col)
        res += YYFPRINTF (yyo, "-%d", end_col);
    }
  return res;
}

#   define YYLOCATION_PRINT  yy_location_print_

    /* Temporary convenience wrapper in case some people defined the
       undocumented and private YY_LOCATION_PRINT macros.  */
#   define YY_LOCATION_PRINT(File, Loc)  YYLOCATION_PRINT(File, &(Loc))

#  else

#   define YYLOCATION_PRINT(File, Loc) ((void) 0)
    /* Temporary convenience wrapper in case some people defined the
       undocumented and private YY_LOCATION_PRINT macros.  */
#   define YY_LOCATION_PRINT  YYLOCATION_PRINT

#  endif
# endif /* !defined YYLOCATION_PRINT */


# define YY_SYMBOL_PRINT(Title, Kind, Value, Location)                    \
do {                                                                      \
  if (yydebug)                                                            \
    {                                                                     \
      YYFPRINTF (stderr, "%s ", Title);                                   \
      yy_symbol_print (stderr,                                            \
                  Kind, Value, Location, scanner, p); \
      YYFPRINTF (stderr, "\n");                                           \
    }                                                                     \
} while (0)


/*-----------------------------------.
| Print this symbol's value on YYO.  |
`-----------------------------------*/

static void
yy_symbol_value_print (FILE *yyo,
                       yysymbol_kind_t yykind, YYSTYPE const * const yyvaluep, YYLTYPE const * const yylocationp, void *scanner, FeParser *p)
{
  FILE *yyoutput = yyo;
  YY_USE (yyoutput);
  YY_USE (yylocationp);
  YY_USE (scanner);
  YY_USE (p);
  if (!yyvaluep)
    return;
  YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN
  YY_USE (yykind);
  YY_IGNORE_MAYBE_UNINITIALIZED_END
}


/*---------------------------.
| Print this symbol on YYO.  |
`---------------------------*/

static void
yy_symbol_print (FILE *yyo,
                 yysymbol_kind_t yykind, YYSTYPE const * const yyvaluep, YYLTYPE const * const yylocationp, void *scanner, FeParser *p)
{
  YYFPRINTF (yyo, "%s %s (",
             yykind < YYNTOKENS ? "token" : "nterm", yysymbol_name (yykind));

  YYLOCATION_PRINT (yyo, yylocationp);
  YYFPRINTF (yyo, ": ");
  yy_symbol_value_print (yyo, yykind, yyvaluep, yylocationp, scanner, p);
  YYFPRINTF (yyo, ")");
}

/*------------------------------------------------------------------.
| yy_stack_print -- Print the state stack from its BOTTOM up to its |
| TOP (included).                                                   |
`------------------------------------------------------------------*/

static void
yy_stack_print (yy_state_t *yybottom, yy_state_t *yytop)
{
  YYFPRINTF (stderr, "Stack now");
  for (; yybottom <= yytop; yybottom++)
    {
      int yybot = *yybottom;
      YYFPRINTF (stderr, " %d", yybot);
    }
  YYFPRINTF (stderr, "\n");
}

# define YY_STACK_PRINT(Bottom, Top)                            \
do {                                                            \
  if (yydebug)                                                  \
    yy_stack_print ((Bottom), (Top));                           \
} while (0)


/*------------------------------------------------.
| Report that the YYRULE is going to be reduced.  |
`------------------------------------------------*/

static void
yy_reduce_print (yy_state_t *yyssp, YYSTYPE *yyvsp, YYLTYPE *yylsp,
                 int yyrule, void *scanner, FeParser *p)
{
  int yylno = yyrline[yyrule];
  int yynrhs = yyr2[yyrule];
  int yyi;
  YYFPRINTF (stderr, "Reducing stack by rule %d (line %d):\n",
             yyrule - 1, yylno);
  /* The symbols being reduced.  */
  for (yyi = 0; yyi < yynrhs; yyi++)
    {
      YYFPRINTF (stderr, "   $%d = ", yyi + 1);
      yy_symbol_print (stderr,
                       YY_ACCESSING_SYMBOL (+yyssp[yyi + 1 - yynrhs]),
                       &yyvsp[(yyi + 1) - (yynrhs)],
                       &(yylsp[(yyi + 1) - (yynrhs)]), scanner, p);
      YYFPRINTF (stderr, "\n");
    }
}

# define YY_REDUCE_PRINT(Rule)          \
do {                                    \
  if (yydebug)                          \
    yy_reduce_print (yyssp, yyvsp, yylsp, Rule, scanner, p); \
} while (0)

/* Nonzero means print parse trace.  It is left uninitialized so that
   multiple parsers can coexist.  */
int yydebug;
#else /* !FE_YYDEBUG */
# define YYDPRINTF(Args) ((void) 0)
# define YY_SYMBOL_PRINT(Title, Kind, Value, Location)
# define YY_STACK_PRINT(Bottom, Top)
# define YY_REDUCE_PRINT(Rule)
#endif /* !FE_YYDEBUG */


/* YYINITDEPTH -- initial size of the parser's stacks.  */
#ifndef YYINITDEPTH
# define YYINITDEPTH 200
#endif

/* YYMAXDEPTH -- maximum size the stacks can grow to (effective only
   if the built-in stack extension method is used).

   Do not make this value too large; the results are undefined if
   YYSTACK_ALLOC_MAXIMUM < YYSTACK_BYTES (YYMAXDEPTH)
   evaluated with infinite-precision integer arithmetic.  */

#ifndef YYMAXDEPTH
# define YYMAXDEPTH 10000
#endif


/* Context of a parse error.  */
typedef struct
{
  yy_state_t *yyssp;
  yysymbol_kind_t yytoken;
  YYLTYPE *yylloc;
} yypcontext_t;

/* Put in YYARG at most YYARGN of the expected tokens given the
   current YYCTX, and return the number of tokens stored in YYARG.  If
   YYARG is null, return the number of expected tokens (guaranteed to
   be less than YYNTOKENS).  Return YYENOMEM on memory exhaustion.
   Return 0 if there are more than YYARGN expected tokens, yet fill
   YYARG up to YYARGN. */
static int
yypcontext_expected_tokens (const yypcontext_t *yyctx,
                            yysymbol_kind_t yyarg[], int yyargn)
{
  /* Actual size of YYARG. */
  int yycount = 0;
  int yyn = yypact[+*yyctx->yyssp];
  if (!yypact_value_is_default (yyn))
    {
      /* Start YYX at -YYN if negative to avoid negative indexes in
         YYCHECK.  In other words, skip the first -YYN actions for
         this state because they are default actions.  */
      int yyxbegin = yyn < 0 ? -yyn : 0;
      /* Stay within bounds of both yycheck and yytname.  */
      int yychecklim = YYLAST - yyn + 1;
      int yyxend = yychecklim < YYNTOKENS ? yychecklim : YYNTOKENS;
      int yyx;
      for (yyx = yyxbegin; yyx < yyxend; ++yyx)
        if (yycheck[yyx + yyn] == yyx && yyx != YYSYMBOL_YYerror
            && !yytable_value_is_error (yytable[yyx + yyn]))
          {
            if (!yyarg)
              ++yycount;
            else if (yycount == yyargn)
              return 0;
            else
              yyarg[yycount++] = YY_CAST (yysymbol_kind_t, yyx);
          }
    }
  if (yyarg && yycount == 0 && 0 < yyargn)
    yyarg[0] = YYSYMBOL_YYEMPTY;
  return yycount;
}




/* The kind of the lookahead of this context.  */
static yysymbol_kind_t
yypcontext_token (const yypcontext_t *yyctx) YY_ATTRIBUTE_UNUSED;

static yysymbol_kind_t
yypcontext_token (const yypcontext_t *yyctx)
{
  return yyctx->yytoken;
}

/* The location of the lookahead of this context.  */
static YYLTYPE *
yypcontext_location (const yypcontext_t *yyctx) YY_ATTRIBUTE_UNUSED;

static YYLTYPE *
yypcontext_location (const yypcontext_t *yyctx)
{
  return yyctx->yylloc;
}

/* User defined function to report a syntax error.  */
static int
yyreport_syntax_error (const yypcontext_t *yyctx, void *scanner, FeParser *p);

/*-----------------------------------------------.
| Release the memory associated to this symbol.  |
`-----------------------------------------------*/

static void
yydestruct (const char *yymsg,
            yysymbol_kind_t yykind, YYSTYPE *yyvaluep, YYLTYPE *yylocationp, void *scanner, FeParser *p)
{
  YY_USE (yyvaluep);
  YY_USE (yylocationp);
  YY_USE (scanner);
  YY_USE (p);
  if (!yymsg)
    yymsg = "Deleting";
  YY_SYMBOL_PRINT (yymsg, yykind, yyvaluep, yylocationp);

  YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN
  YY_USE (yykind);
  YY_IGNORE_MAYBE_UNINITIALIZED_END
}






/*----------.
| yyparse.  |
`----------*/

int
yyparse (void *scanner, FeParser *p)
{
/* Lookahead token kind.  */
int yychar;


/* The semantic value of the lookahead symbol.  */
/* Default value used for initialization, for pacifying older GCCs
   or non-GCC compilers.  */
YY_INITIAL_VALUE (static YYSTYPE yyval_default;)
YYSTYPE yylval YY_INITIAL_VALUE (= yyval_default);

/* Location data for the lookahead symbol.  */
static YYLTYPE yyloc_default
# if defined FE_YYLTYPE_IS_TRIVIAL && FE_YYLTYPE_IS_TRIVIAL
  = { 1, 1, 1, 1 }
# endif
;
YYLTYPE yylloc = yyloc_default;

    /* Number of syntax errors so far.  */
    int yynerrs = 0;

    yy_state_fast_t yystate = 0;
    /* Number of tokens to shift before error messages enabled.  */
    int yyerrstatus = 0;

    /* Refer to the stacks through separate pointers, to allow yyoverflow
       to reallocate them elsewhere.  */

    /* Their size.  */
    YYPTRDIFF_T yystacksize = YYINITDEPTH;

    /* The state stack: array, bottom, top.  */
    yy_state_t yyssa[YYINITDEPTH];
    yy_state_t *yyss = yyssa;
    yy_state_t *yyssp = yyss;

    /* The semantic value stack: array, bottom, top.  */
    YYSTYPE yyvsa[YYINITDEPTH];
    YYSTYPE *yyvs = yyvsa;
    YYSTYPE *yyvsp = yyvs;

    /* The location stack: array, bottom, top.  */
    YYLTYPE yylsa[YYINITDEPTH];
    YYLTYPE *yyls = yylsa;
    YYLTYPE *yylsp = yyls;

  int yyn;
  /* The return value of yyparse.  */
  int yyresult;
  /* Lookahead symbol kind.  */
  yysymbol_kind_t yytoken = YYSYMBOL_YYEMPTY;
  /* The variables used to return semantic value and location from the
     action routines.  */
  YYSTYPE yyval;
  YYLTYPE yyloc;

  /* The locations where the error started and ended.  */
  YYLTYPE yyerror_range[3];



#define YYPOPSTACK(N)   (yyvsp -= (N), yyssp -= (N), yylsp -= (N))

  /* The number of symbols on the RHS of the reduced rule.
     Keep to zero when no symbol should be popped.  */
  int yylen = 0;

  YYDPRINTF ((stderr, "Starting parse\n"));

  yychar = T_FE_YYEMPTY; /* Cause a token to be read.  */

  yylsp[0] = yylloc;
  goto yysetstate;


/*------------------------------------------------------------.
| yynewstate -- push a new state, which is found in yystate.  |
`------------------------------------------------------------*/
yynewstate:
  /* In all cases, when you get here, the value and location stacks
     have just been pushed.  So pushing a state here evens the stacks.  */
  yyssp++;


/*--------------------------------------------------------------------.
| yysetstate -- set current state (the top of the stack) to yystate.  |
`--------------------------------------------------------------------*/
yysetstate:
  YYDPRINTF ((stderr, "Entering state %d\n", yystate));
  YY_ASSERT (0 <= yystate && yystate < YYNSTATES);
  YY_IGNORE_USELESS_CAST_BEGIN
  *yyssp = YY_CAST (yy_state_t, yystate);
  YY_IGNORE_USELESS_CAST_END
  YY_STACK_PRINT (yyss, yyssp);

  if (yyss + yystacksize - 1 <= yyssp)
#if !defined yyoverflow && !defined YYSTACK_RELOCATE
    YYNOMEM;
#else
    {
      /* Get the current used size of the three stacks, in elements.  */
      YYPTRDIFF_T yysize = yyssp - yyss + 1;

# if defined yyoverflow
      {
        /* Give user a chance to reallocate the stack.  Use copies of
           these so that the &'s don't force the real ones into
           memory.  */
        yy_state_t *yyss1 = yyss;
        YYSTYPE *yyvs1 = yyvs;
        YYLTYPE *yyls1 = yyls;

        /* Each stack pointer address is followed by the size of the
           data in use in that stack, in bytes.  This used to be a
           conditional around just the two extra args, but that might
           be undefined if yyoverflow is a macro.  */
        yyoverflow (YY_("memory exhausted"),
                    &yyss1, yysize * YYSIZEOF (*yyssp),
                    &yyvs1, yysize * YYSIZEOF (*yyvsp),
                    &yyls1, yysize * YYSIZEOF (*yylsp),
                    &yystacksize);
        yyss = yyss1;
        yyvs = yyvs1;
        yyls = yyls1;
      }
# else /* defined YYSTACK_RELOCATE */
      /* Extend the stack our own way.  */
      if (YYMAXDEPTH <= yystacksize)
        YYNOMEM;
      yystacksize *= 2;
      if (YYMAXDEPTH < yystacksize)
        yystacksize = YYMAXDEPTH;

      {
        yy_state_t *yyss1 = yyss;
        union yyalloc *yyptr =
          YY_CAST (union yyalloc *,
                   YYSTACK_ALLOC (YY_CAST (YYSIZE_T, YYSTACK_BYTES (yystacksize))));
        if (! yyptr)
          YYNOMEM;
        YYSTACK_RELOCATE (yyss_alloc, yyss);
        YYSTACK_RELOCATE (yyvs_alloc, yyvs);
        YYSTACK_RELOCATE (yyls_alloc, yyls);
#  undef YYSTACK_RELOCATE
        if (yyss1 != yyssa)
          YYSTACK_FREE (yyss1);
      }
# endif

      yyssp = yyss + yysize - 1;
      yyvsp = yyvs + yysize - 1;
      yylsp = yyls + yysize - 1;

      YY_IGNORE_USELESS_CAST_BEGIN
      YYDPRINTF ((stderr, "Stack size increased to %ld\n",
                  YY_CAST (long, yystacksize)));
      YY_IGNORE_USELESS_CAST_END

      if (yyss + yystacksize - 1 <= yyssp)
        YYABORT;
    }
#endif /* !defined yyoverflow && !defined YYSTACK_RELOCATE */


  if (yystate == YYFINAL)
    YYACCEPT;

  goto yybackup;


/*-----------.
| yybackup.  |
`-----------*/
yybackup:
  /* Do appropriate processing given the current state.  Read a
     lookahead token if we need one and don't already have one.  */

  /* First try to decide what to do without reference to lookahead token.  */
  yyn = yypact[yystate];
  if (yypact_value_is_default (yyn))
    goto yydefault;

  /* Not known => get a lookahead token if don't already have one.  */

  /* YYCHAR is either empty, or end-of-input, or a valid lookahead.  */
  if (yychar == T_FE_YYEMPTY)
    {
      YYDPRINTF ((stderr, "Reading a token\n"));
      yychar = yylex (&yylval, &yylloc, scanner);
    }

  if (yychar <= T_YYEOF)
    {
      yychar = T_YYEOF;
      yytoken = YYSYMBOL_YYEOF;
      YYDPRINTF ((stderr, "Now at end of input.\n"));
    }
  else if (yychar == T_FE_YYerror)
    {
      /* The scanner already issued an error message, process directly
         to error recovery.  But do not keep the error token as
         lookahead, it is too special and may lead us to an endless
         loop in error recovery. */
      yychar = T_FE_YYUNDEF;
      yytoken = YYSYMBOL_YYerror;
      yyerror_range[1] = yylloc;
      goto yyerrlab1;
    }
  else
    {
      yytoken = YYTRANSLATE (yychar);
      YY_SYMBOL_PRINT ("Next token is", yytoken, &yylval, &yylloc);
    }

  /* If the proper action on seeing token YYTOKEN is to reduce or to
     detect an error, take that action.  */
  yyn += yytoken;
  if (yyn < 0 || YYLAST < yyn || yycheck[yyn] != yytoken)
    goto yydefault;
  yyn = yytable[yyn];
  if (yyn <= 0)
    {
      if (yytable_value_is_error (yyn))
        goto yyerrlab;
      yyn = -yyn;
      goto yyreduce;
    }

  /* Count tokens shifted since error; after three, turn off error
     status.  */
  if (yyerrstatus)
    yyerrstatus--;

  /* Shift the lookahead token.  */
  YY_SYMBOL_PRINT ("Shifting", yytoken, &yylval, &yylloc);
  yystate = yyn;
  YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN
  *++yyvsp = yylval;
  YY_IGNORE_MAYBE_UNINITIALIZED_END
  *++yylsp = yylloc;

  /* Discard the shifted token.  */
  yychar = T_FE_YYEMPTY;
  goto yynewstate;


/*-----------------------------------------------------------.
| yydefault -- do the default action for the current state.  |
`-----------------------------------------------------------*/
yydefault:
  yyn = yydefact[yystate];
  if (yyn == 0)
    goto yyerrlab;
  goto yyreduce;


/*-----------------------------.
| yyreduce -- do a reduction.  |
`-----------------------------*/
yyreduce:
  /* yyn is the number of a rule to reduce with.  */
  yylen = yyr2[yyn];

  /* If YYLEN is nonzero, implement the default value of the action:
     '$$ = $1'.

     Otherwise, the following line sets YYVAL to garbage.
     This behavior is undocumented and Bison
     users should not rely upon it.  Assigning to YYVAL
     unconditionally makes the parser a bit smaller, and it avoids a
     GCC warning that YYVAL may be used uninitialized.  */
  yyval = yyvsp[1-yylen];

  /* Default location. */
  YYLLOC_DEFAULT (yyloc, (yylsp - yylen), yylen);
  yyerror_range[1] = yyloc;
  YY_REDUCE_PRINT (yyn);
  switch (yyn)
    {
  case 3: /* file: file model  */
                            { NEED(fe_list_push(p->arena, &p->file->models, (yyvsp[0].model))); }
    break;

  case 4: /* file: file error '}'  */
                            { yyerrok; }
    break;

  case 5: /* model: MODEL IDENT '{' stmts '}'  */
                              {
      NEED((yyval.model) = arena_alloc(p->arena, sizeof *(yyval.model)));
      (yyval.model)->name = (yyvsp[-3].s);
      (yyval.model)->loc = (yylsp[-3]);
      (yyval.model)->end = (yylsp[0]);
      (yyval.model)->stmts = *(yyvsp[-1].list);
    }
    break;

  case 6: /* stmts: %empty  */
                            { NEED((yyval.list) = arena_alloc(p->arena, sizeof *(yyval.list))); }
    break;

  case 7: /* stmts: stmts stmt_line  */
                            { (yyval.list) = (yyvsp[-1].list); if ((yyvsp[0].stmt)) NEED(fe_list_push(p->arena, (yyval.list), (yyvsp[0].stmt))); }
    break;

  case 8: /* stmt_line: stmt NEWLINE  */
                            { (yyval.stmt) = (yyvsp[-1].stmt); }
    break;

  case 9: /* stmt_line: stmt ';'  */
                            { (yyval.stmt) = (yyvsp[-1].stmt); }
    break;

  case 10: /* stmt_line: error NEWLINE  */
                            { (yyval.stmt) = NULL; yyerrok; }
    break;

  case 11: /* stmt: INPUT IDENT ':' type  */
                         {
      NEED((yyval.stmt) = fe_stmt_new(p->arena, FE_S_INPUT, (yylsp[-3])));
      (yyval.stmt)->name = (yyvsp[-2].s); (yyval.stmt)->name_loc = (yylsp[-2]); (yyval.stmt)->type = (yyvsp[0].type);
    }
    break;

  case 12: /* stmt: PARAM IDENT ':' type init  */
                              {
      NEED((yyval.stmt) = fe_stmt_new(p->arena, FE_S_PARAM, (yylsp[-4])));
      (yyval.stmt)->name = (yyvsp[-3].s); (yyval.stmt)->name_loc = (yylsp[-3]); (yyval.stmt)->type = (yyvsp[-1].type); (yyval.stmt)->value = (yyvsp[0].expr);
    }
    break;

  case 13: /* stmt: BUFFER IDENT ':' type init  */
                               {
      NEED((yyval.stmt) = fe_stmt_new(p->arena, FE_S_BUFFER, (yylsp[-4])));
      (yyval.stmt)->name = (yyvsp[-3].s); (yyval.stmt)->name_loc = (yylsp[-3]); (yyval.stmt)->type = (yyvsp[-1].type); (yyval.stmt)->value = (yyvsp[0].expr);
    }
    break;

  case 14: /* stmt: IDENT '=' expr  */
                   {
      NEED((yyval.stmt) = fe_stmt_new(p->arena, FE_S_ASSIGN, (yylsp[-2])));
      (yyval.stmt)->name = (yyvsp[-2].s); (yyval.stmt)->name_loc = (yylsp[-2]); (yyval.stmt)->value = (yyvsp[0].expr);
    }
    break;

  case 15: /* stmt: expr  */
         {
      NEED((yyval.stmt) = fe_stmt_new(p->arena, FE_S_EXPR, (yyvsp[0].expr)->loc));
      (yyval.stmt)->value = (yyvsp[0].expr);
    }
    break;

  case 16: /* stmt: RETURN exprs  */
                 {
      NEED((yyval.stmt) = fe_stmt_new(p->arena, FE_S_RETURN, (yylsp[-1])));
      (yyval.stmt)->values = *(yyvsp[0].list);
    }
    break;

  case 17: /* init: %empty  */
                            { (yyval.expr) = NULL; }
    break;

  case 18: /* init: '=' expr  */
                            { (yyval.expr) = (yyvsp[0].expr); }
    break;

  case 19: /* type: IDENT  */
          {
      NEED((yyval.type) = arena_alloc(p->arena, sizeof *(yyval.type)));
      (yyval.type)->dtype = (yyvsp[0].s); (yyval.type)->loc = (yylsp[0]);
    }
    break;

  case 20: /* type: IDENT '[' ']'  */
                  {
      NEED((yyval.type) = arena_alloc(p->arena, sizeof *(yyval.type)));
      (yyval.type)->dtype = (yyvsp[-2].s); (yyval.type)->loc = (yylsp[-2]);
    }
    break;

  case 21: /* type: IDENT '[' exprs comma ']'  */
                              {
      NEED((yyval.type) = arena_alloc(p->arena, sizeof *(yyval.type)));
      (yyval.type)->dtype = (yyvsp[-4].s); (yyval.type)->loc = (yylsp[-4]); (yyval.type)->dims = *(yyvsp[-2].list);
    }
    break;

  case 24: /* exprs: expr  */
                            { NEED((yyval.list) = arena_alloc(p->arena, sizeof *(yyval.list))); NEED(fe_list_push(p->arena, (yyval.list), (yyvsp[0].expr))); }
    break;

  case 25: /* exprs: exprs ',' expr  */
                            { (yyval.list) = (yyvsp[-2].list); NEED(fe_list_push(p->arena, (yyval.list), (yyvsp[0].expr))); }
    break;

  case 26: /* expr: expr '+' expr  */
                            { NEED((yyval.expr) = fe_expr_binary(p->arena, '+', (yyvsp[-2].expr), (yyvsp[0].expr), (yylsp[-1]))); DEPTH((yyval.expr)); }
    break;

  case 27: /* expr: expr '-' expr  */
                            { NEED((yyval.expr) = fe_expr_binary(p->arena, '-', (yyvsp[-2].expr), (yyvsp[0].expr), (yylsp[-1]))); DEPTH((yyval.expr)); }
    break;

  case 28: /* expr: expr '*' expr  */
                            { NEED((yyval.expr) = fe_expr_binary(p->arena, '*', (yyvsp[-2].expr), (yyvsp[0].expr), (yylsp[-1]))); DEPTH((yyval.expr)); }
    break;

  case 29: /* expr: expr '/' expr  */
                            { NEED((yyval.expr) = fe_expr_binary(p->arena, '/', (yyvsp[-2].expr), (yyvsp[0].expr), (yylsp[-1]))); DEPTH((yyval.expr)); }
    break;

  case 30: /* expr: expr '@' expr  */
                            { NEED((yyval.expr) = fe_expr_binary(p->arena, '@', (yyvsp[-2].expr), (yyvsp[0].expr), (yylsp[-1]))); DEPTH((yyval.expr)); }
    break;

  case 31: /* expr: expr POW expr  */
                            { NEED((yyval.expr) = fe_expr_binary(p->arena, FE_POW, (yyvsp[-2].expr), (yyvsp[0].expr), (yylsp[-1]))); DEPTH((yyval.expr)); }
    break;

  case 32: /* expr: '-' expr  */
                            { NEED((yyval.expr) = fe_expr_unary(p->arena, '-', (yyvsp[0].expr), (yylsp[-1]))); DEPTH((yyval.expr)); }
    break;

  case 33: /* expr: '+' expr  */
                            { NEED((yyval.expr) = fe_expr_unary(p->arena, '+', (yyvsp[0].expr), (yylsp[-1]))); DEPTH((yyval.expr)); }
    break;

  case 34: /* expr: expr '(' args ')'  */
                      {
      NEED((yyval.expr) = leaf(p, FE_CALL, (yyvsp[-3].expr)->loc));
      (yyval.expr)->lhs = (yyvsp[-3].expr);
      (yyval.expr)->args = *(yyvsp[-1].list);
      /* x.m(...) is one step of the lowering's recursion, not two: the attribute's level
         already counts the call, so a chain of N method calls is N levels deep. */
      (yyval.expr)->depth = (yyvsp[-3].expr)->kind == FE_ATTR ? (yyvsp[-3].expr)->depth : (yyvsp[-3].expr)->depth + 1;
      for (int i = 0; i < (yyvsp[-1].list)->n; i++) {
        FeArg *a = (yyvsp[-1].list)->items[i];
        if (a->value->depth + 1 > (yyval.expr)->depth) (yyval.expr)->depth = a->value->depth + 1;
      }
      DEPTH((yyval.expr));
    }
    break;

  case 35: /* expr: expr '.' IDENT  */
                   {
      NEED((yyval.expr) = leaf(p, FE_ATTR, (yylsp[0])));
      (yyval.expr)->lhs = (yyvsp[-2].expr); (yyval.expr)->name = (yyvsp[0].s); (yyval.expr)->depth = (yyvsp[-2].expr)->depth + 1;
      DEPTH((yyval.expr));
    }
    break;

  case 36: /* expr: expr '.' INT  */
                 {
      NEED((yyval.expr) = leaf(p, FE_ATTR, (yylsp[0])));
      NEED((yyval.expr)->name = arena_printf(p->arena, "%lld", (long long)(yyvsp[0].i)));
      (yyval.expr)->lhs = (yyvsp[-2].expr); (yyval.expr)->depth = (yyvsp[-2].expr)->depth + 1;
      DEPTH((yyval.expr));
    }
    break;

  case 37: /* expr: IDENT  */
                            { NEED((yyval.expr) = leaf(p, FE_NAME, (yylsp[0]))); (yyval.expr)->name = (yyvsp[0].s); }
    break;

  case 38: /* expr: INT  */
                            { NEED((yyval.expr) = leaf(p, FE_INT, (yylsp[0]))); (yyval.expr)->i = (yyvsp[0].i); }
    break;

  case 39: /* expr: FLOAT  */
                            { NEED((yyval.expr) = leaf(p, FE_FLOAT, (yylsp[0]))); (yyval.expr)->f = (yyvsp[0].f); }
    break;

  case 40: /* expr: STRING  */
                            { NEED((yyval.expr) = leaf(p, FE_STR, (yylsp[0]))); (yyval.expr)->s = (yyvsp[0].s); }
    break;

  case 41: /* expr: TRUE  */
                            { NEED((yyval.expr) = leaf(p, FE_BOOL, (yylsp[0]))); (yyval.expr)->b = true; }
    break;

  case 42: /* expr: FALSE  */
                            { NEED((yyval.expr) = leaf(p, FE_BOOL, (yylsp[0]))); (yyval.expr)->b = false; }
    break;

  case 43: /* expr: NONE  */
                            { NEED((yyval.expr) = leaf(p, FE_NONE, (yylsp[0]))); }
    break;

  case 44: /* expr: '(' expr ')'  */
                            { (yyval.expr) = (yyvsp[-1].expr); }
    break;

  case 45: /* args: %empty  */
                            { NEED((yyval.list) = arena_alloc(p->arena, sizeof *(yyval.list))); }
    break;

  case 46: /* args: arglist comma  */
                            { (yyval.list) = (yyvsp[-1].list); }
    break;

  case 47: /* arglist: arg  */
                            { NEED((yyval.list) = arena_alloc(p->arena, sizeof *(yyval.list))); NEED(fe_list_push(p->arena, (yyval.list), (yyvsp[0].arg))); }
    break;

  case 48: /* arglist: arglist ',' arg  */
                            { (yyval.list) = (yyvsp[-2].list); NEED(fe_list_push(p->arena, (yyval.list), (yyvsp[0].arg))); }
    break;

  case 49: /* arg: expr  */
                            { NEED((yyval.arg) = arena_alloc(p->arena, sizeof *(yyval.arg))); (yyval.arg)->value = (yyvsp[0].expr); (yyval.arg)->loc = (yyvsp[0].expr)->loc; }
    break;

  case 50: /* arg: IDENT '=' expr  */
                            { NEED((yyval.arg) = arena_alloc(p->arena, sizeof *(yyval.arg))); (yyval.arg)->name = (yyvsp[-2].s); (yyval.arg)->value = (yyvsp[0].expr); (yyval.arg)->loc = (yylsp[-2]); }
    break;

  case 51: /* arg: INPUT '=' expr  */
                            { NEED((yyval.arg) = arena_alloc(p->arena, sizeof *(yyval.arg))); (yyval.arg)->name = "input"; (yyval.arg)->value = (yyvsp[0].expr); (yyval.arg)->loc = (yylsp[-2]); }
    break;



      default: break;
    }
  /* User semantic actions sometimes alter yychar, and that requires
     that yytoken be updated with the new translation.  We take the
     approach of translating immediately before every use of yytoken.
     One alternative is translating here after every semantic action,
     but that translation would be missed if the semantic action invokes
     YYABORT, YYACCEPT, or YYERROR immediately after altering yychar or
     if it invokes YYBACKUP.  In the case of YYABORT or YYACCEPT, an
     incorrect destructor might then be invoked immediately.  In the
     case of YYERROR or YYBACKUP, subsequent parser actions might lead
     to an incorrect destructor call or verbose syntax error message
     before the lookahead is translated.  */
  YY_SYMBOL_PRINT ("-> $$ =", YY_CAST (yysymbol_kind_t, yyr1[yyn]), &yyval, &yyloc);

  YYPOPSTACK (yylen);
  yylen = 0;

  *++yyvsp = yyval;
  *++yylsp = yyloc;

  /* Now 'shift' the result of the reduction.  Determine what state
     that goes to, based on the state we popped back to and the rule
     number reduced by.  */
  {
    const int yylhs = yyr1[yyn] - YYNTOKENS;
    const int yyi = yypgoto[yylhs] + *yyssp;
    yystate = (0 <= yyi && yyi <= YYLAST && yycheck[yyi] == *yyssp
               ? yytable[yyi]
               : yydefgoto[yylhs]);
  }

  goto yynewstate;


/*--------------------------------------.
| yyerrlab -- here on detecting error.  |
`--------------------------------------*/
yyerrlab:
  /* Make sure we have latest lookahead translation.  See comments at
     user semantic actions for why this is necessary.  */
  yytoken = yychar == T_FE_YYEMPTY ? YYSYMBOL_YYEMPTY : YYTRANSLATE (yychar);
  /* If not already recovering from an error, report this error.  */
  if (!yyerrstatus)
    {
      ++yynerrs;
      {
        yypcontext_t yyctx
          = {yyssp, yytoken, &yylloc};
        if (yyreport_syntax_error (&yyctx, scanner, p) == 2)
          YYNOMEM;
      }
    }

  yyerror_range[1] = yylloc;
  if (yyerrstatus == 3)
    {
      /* If just tried and failed to reuse lookahead token after an
         error, discard it.  */

      if (yychar <= T_YYEOF)
        {
          /* Return failure if at end of input.  */
          if (yychar == T_YYEOF)
            YYABORT;
        }
      else
        {
          yydestruct ("Error: discarding",
                      yytoken, &yylval, &yylloc, scanner, p);
          yychar = T_FE_YYEMPTY;
        }
    }

  /* Else will try to reuse lookahead token after shifting the error
     token.  */
  goto yyerrlab1;


/*---------------------------------------------------.
| yyerrorlab -- error raised explicitly by YYERROR.  |
`---------------------------------------------------*/
yyerrorlab:
  /* Pacify compilers when the user code never invokes YYERROR and the
     label yyerrorlab therefore never appears in user code.  */
  if (0)
    YYERROR;
  ++yynerrs;

  /* Do not reclaim the symbols of the rule whose action triggered
     this YYERROR.  */
  YYPOPSTACK (yylen);
  yylen = 0;
  YY_STACK_PRINT (yyss, yyssp);
  yystate = *yyssp;
  goto yyerrlab1;


/*-------------------------------------------------------------.
| yyerrlab1 -- common code for both syntax error and YYERROR.  |
`-------------------------------------------------------------*/
yyerrlab1:
  yyerrstatus = 3;      /* Each real token shifted decrements this.  */

  /* Pop stack until we find a state that shifts the error token.  */
  for (;;)
    {
      yyn = yypact[yystate];
      if (!yypact_value_is_default (yyn))
        {
          yyn += YYSYMBOL_YYerror;
          if (0 <= yyn && yyn <= YYLAST && yycheck[yyn] == YYSYMBOL_YYerror)
            {
              yyn = yytable[yyn];
              if (0 < yyn)
                break;
            }
        }

      /* Pop the current state because it cannot handle the error token.  */
      if (yyssp == yyss)
        YYABORT;

      yyerror_range[1] = *yylsp;
      yydestruct ("Error: popping",
                  YY_ACCESSING_SYMBOL (yystate), yyvsp, yylsp, scanner, p);
      YYPOPSTACK (1);
      yystate = *yyssp;
      YY_STACK_PRINT (yyss, yyssp);
    }

  YY_IGNORE_MAYBE_UNINITIALIZED_BEGIN
  *++yyvsp = yylval;
  YY_IGNORE_MAYBE_UNINITIALIZED_END

  yyerror_range[2] = yylloc;
  ++yylsp;
  YYLLOC_DEFAULT (*yylsp, yyerror_range, 2);

  /* Shift the error token.  */
  YY_SYMBOL_PRINT ("Shifting", YY_ACCESSING_SYMBOL (yyn), yyvsp, yylsp);

  yystate = yyn;
  goto yynewstate;


/*-------------------------------------.
| yyacceptlab -- YYACCEPT comes here.  |
`-------------------------------------*/
yyacceptlab:
  yyresult = 0;
  goto yyreturnlab;


/*-----------------------------------.
| yyabortlab -- YYABORT comes here.  |
`-----------------------------------*/
yyabortlab:
  yyresult = 1;
  goto yyreturnlab;


/*-----------------------------------------------------------.
| yyexhaustedlab -- YYNOMEM (memory exhaustion) comes here.  |
`-----------------------------------------------------------*/
yyexhaustedlab:
  yyerror (&yylloc, scanner, p, YY_("memory exhausted"));
  yyresult = 2;
  goto yyreturnlab;


/*----------------------------------------------------------.
| yyreturnlab -- parsing is finished, clean up and return.  |
`----------------------------------------------------------*/
yyreturnlab:
  if (yychar != T_FE_YYEMPTY)
    {
      /* Make sure we have latest lookahead translation.  See comments at
         user semantic actions for why this is necessary.  */
      yytoken = YYTRANSLATE (yychar);
      yydestruct ("Cleanup: discarding lookahead",
                  yytoken, &yylval, &yylloc, scanner, p);
    }
  /* Do not reclaim the symbols of the rule whose action triggered
     this YYABORT or YYACCEPT.  */
  YYPOPSTACK (yylen);
  YY_STACK_PRINT (yyss, yyssp);
  while (yyssp != yyss)
    {
      yydestruct ("Cleanup: popping",
                  YY_ACCESSING_SYMBOL (+*yyssp), yyvsp, yylsp, scanner, p);
      YYPOPSTACK (1);
    }
#ifndef yyoverflow
  if (yyss != yyssa)
    YYSTACK_FREE (yyss);
#endif

  return yyresult;
}



static void *stack_alloc(FeParser *p, size_t n) {
  void *q = ir_malloc(n);
  if (!q) p->oom = true;
  return q;
}

/* Bison calls this only when its stack is exhausted (syntax errors go through
 * yyreport_syntax_error). */
static void fe_yyerror(SrcLoc *loc, void *scanner, FeParser *p, const char *msg) {
  if (p->oom) return;
  diag_error(p->d, *loc, "expression too complex (the parser's stack is exhausted)");
}

/* How a token reads in a message. */
static void describe(StrBuf *sb, yysymbol_kind_t k, const FeParser *p, bool lookahead) {
  switch (k) {
  case YYSYMBOL_YYEOF: sb_puts(sb, "end of file"); return;
  case YYSYMBOL_IDENT:
    if (lookahead && p->cur.tok == T_IDENT && p->cur.text)
      sb_printf(sb, "name '%s'", p->cur.text);
    else
      sb_puts(sb, "a name");
    return;
  case YYSYMBOL_INT: sb_puts(sb, lookahead ? "integer" : "an integer"); return;
  case YYSYMBOL_FLOAT: sb_puts(sb, lookahead ? "number" : "a number"); return;
  case YYSYMBOL_STRING: sb_puts(sb, lookahead ? "string" : "a string"); return;
  case YYSYMBOL_NEWLINE:
    /* the statement end the scanner adds before a '}' reads as that '}' */
    sb_puts(sb, lookahead && p->cur.tok == T_NEWLINE && p->cur.text ? "'}'" : "end of line");
    return;
  case YYSYMBOL_MODEL: sb_puts(sb, "'model'"); return;
  case YYSYMBOL_INPUT: sb_puts(sb, "'input'"); return;
  case YYSYMBOL_PARAM: sb_puts(sb, "'param'"); return;
  case YYSYMBOL_BUFFER: sb_puts(sb, "'buffer'"); return;
  case YYSYMBOL_RETURN: sb_puts(sb, "'return'"); return;
  case YYSYMBOL_TRUE: sb_puts(sb, "'true'"); return;
  case YYSYMBOL_FALSE: sb_puts(sb, "'false'"); return;
  case YYSYMBOL_NONE: sb_puts(sb, "'None'"); return;
  case YYSYMBOL_POW: sb_puts(sb, "'**'"); return;
  default: sb_puts(sb, yysymbol_name(k)); return; /* character tokens: already "'('" */
  }
}

/* Tokens that can start an expression: listed as one item, "an expression".  `input` is
 * one where it starts an argument (input=x), not where it starts a statement. */
static bool starts_expr(yysymbol_kind_t k, bool stmt) {
  switch (k) {
  case YYSYMBOL_IDENT: case YYSYMBOL_INT: case YYSYMBOL_FLOAT: case YYSYMBOL_STRING:
  case YYSYMBOL_TRUE: case YYSYMBOL_FALSE: case YYSYMBOL_NONE:
    return true;
  case YYSYMBOL_INPUT:
    return !stmt;
  default: {
    const char *n = yysymbol_name(k);
    return strcmp(n, "'('") == 0 || strcmp(n, "'-'") == 0 || strcmp(n, "'+'") == 0;
  }
  }
}

/* Tokens that can continue a complete expression (an operator, a call, an attribute).
 * After an expression they are always possible, so listing them hides what else was
 * expected: "unexpected ')', expected end of line or ';'". */
static bool continues_expr(yysymbol_kind_t k) {
  if (k == YYSYMBOL_POW) return true;
  const char *n = yysymbol_name(k);
  return n[0] == '\'' && n[2] == '\'' && strchr("+-*/@(.", n[1]);
}

static const char *const keyword_names[] = {"model", "input", "param", "buffer", "return"};

static int yyreport_syntax_error(const yypcontext_t *ctx, void *scanner, FeParser *p) {
  if (p->oom || p->stop) return 0;
  yysymbol_kind_t la = yypcontext_token(ctx);
  SrcLoc loc = *yypcontext_location(ctx);
  yysymbol_kind_t exp[24];
  int n = yypcontext_expected_tokens(ctx, exp, 24);
  if (n < 0) n = 0;
  /* A misspelt keyword: "modle X {" (the name is the bad token) or "inptu x: ..." (the
   * name before it is, and this name cannot follow a name). */
  if (la == YYSYMBOL_IDENT && p->cur.text) {
    bool want_model = false;
    for (int i = 0; i < n; i++)
      if (exp[i] == YYSYMBOL_MODEL) want_model = true;
    if (want_model) {
      const char *hint = diag_closest(p->cur.text, keyword_names, 1);
      if (hint) {
        diag_error(p->d, loc, "unknown keyword '%s' (did you mean '%s'?)", p->cur.text, hint);
        return 0;
      }
    }
    if (p->prev.tok == T_IDENT && p->prev.text) {
      const char *hint = diag_closest(p->prev.text, keyword_names + 1, 4);
      if (hint) {
        diag_error(p->d, p->prev.loc, "unknown keyword '%s' (did you mean '%s'?)", p->prev.text, hint);
        return 0;
      }
    }
  }
  StrBuf sb;
  sb_init(&sb);
  sb_puts(&sb, "unexpected ");
  describe(&sb, la, p, true);
  if (la == YYSYMBOL_YYEOF && p->brace_depth > 0) sb_puts(&sb, " (a model's '}' is missing)");
  /* Collapse the expression starters, drop the operators after a complete expression;
   * list the rest when few enough to help. */
  if (la == YYSYMBOL_YYEOF && p->brace_depth > 0) n = 0; /* the missing '}' is the news */
  bool expr = false, after_expr = false, stmt = false;
  for (int i = 0; i < n; i++) {
    if (exp[i] == YYSYMBOL_INT) expr = true; /* a literal fits: any expression does */
    if (exp[i] == YYSYMBOL_POW) after_expr = true; /* only an expression can precede ** */
    if (exp[i] == YYSYMBOL_PARAM) stmt = true; /* a statement may start here */
  }
  int listed = 0;
  for (int i = 0; i < n; i++)
    if (!(expr && starts_expr(exp[i], stmt)) && !(after_expr && continues_expr(exp[i]))) listed++;
  if ((expr || listed) && listed <= 4) {
    sb_puts(&sb, ", expected ");
    int k = 0, total = listed + (expr ? 1 : 0);
    if (expr) {
      sb_puts(&sb, "an expression");
      k++;
    }
    for (int i = 0; i < n; i++) {
      if ((expr && starts_expr(exp[i], stmt)) || (after_expr && continues_expr(exp[i]))) continue;
      sb_puts(&sb, k == 0 ? "" : k == total - 1 ? " or " : ", ");
      describe(&sb, exp[i], p, false);
      k++;
    }
  }
  diag_error(p->d, loc, "%s", sb_str(&sb));
  sb_free(&sb);
  /* Newlines inside parentheses join lines, so a missing ')' shows up lines later: point
   * at the bracket still open.  At end of file, point at the body never closed. */
  if (p->paren_depth > 0 && p->open[p->paren_depth - 1].line < loc.line) {
    SrcLoc o = p->open[p->paren_depth - 1];
    const char *src = o.file->text;
    size_t off = 0;
    for (int l = 1; l < o.line; off++)
      if (src[off] == '\n') l++;
    diag_note(p->d, o, "this '%c' is never closed", src[off + (size_t)o.col - 1]);
  } else if (la == YYSYMBOL_YYEOF && p->brace_depth > 0) {
    diag_note(p->d, p->brace_loc, "the model's body starts here");
  }
  return 0;
}

Status fe_parse_ast(const SrcFile *src, Arena *a, Diag *d, FeFile **out) {
  *out = NULL;
  FeParser p;
  memset(&p, 0, sizeof p);
  p.src = src;
  p.arena = a;
  p.d = d;
  p.line = p.col = 1;
  int errs = d->nerrors;
  if (!(p.file = arena_alloc(a, sizeof *p.file))) return diag_oom(d);
  /* flex scans in place and needs two NUL bytes after the text */
  char *buf = ir_malloc(src->len + 2);
  if (!buf) return diag_oom(d);
  if (src->len) memcpy(buf, src->text, src->len);
  buf[src->len] = buf[src->len + 1] = 0;
  void *scanner;
  if (fe_yylex_init_extra(&p, &scanner)) {
    ir_free(buf);
    return diag_oom(d);
  }
  if (!fe_lex_begin(&p, scanner, buf, src->len + 2)) {
    ir_free(buf);
    return diag_oom(d);
  }
  fe_yyparse(scanner, &p);
  fe_yylex_destroy(scanner);
  ir_free(buf);
  if (p.oom) return diag_oom(d);
  if (d->nerrors > errs) return JS_ERR;
  if (p.file->models.n == 0)
    return diag_error(d, (SrcLoc){src, 1, 1}, "no model in this file (write 'model Name { ... }')");
  *out = p.file;
  return JS_OK;
}
