/* A Bison parser, made by GNU Bison 3.8.2.  */

/* Bison interface for Yacc-like parsers in C

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

/* DO NOT RELY ON FEATURES THAT ARE NOT DOCUMENTED in the manual,
   especially those whose name start with YY_ or yy_.  They are
   private implementation details that can be changed or removed.  */

#ifndef YY_FE_YY_PARSER_H_INCLUDED
# define YY_FE_YY_PARSER_H_INCLUDED
/* Debug traces.  */
#ifndef FE_YYDEBUG
# if defined YYDEBUG
#if YYDEBUG
#   define FE_YYDEBUG 1
#  else
#   define FE_YYDEBUG 0
#  endif
# else /* ! defined YYDEBUG */
#  define FE_YYDEBUG 0
# endif /* ! defined YYDEBUG */
#endif  /* ! defined FE_YYDEBUG */
#if FE_YYDEBUG
extern int fe_yydebug;
#endif
/* "%code requires" blocks.  */

#include "fe.h"


/* Token kinds.  */
#ifndef FE_YYTOKENTYPE
# define FE_YYTOKENTYPE
  enum fe_yytokentype
  {
    T_FE_YYEMPTY = -2,
    T_YYEOF = 0,                   /* "end of file"  */
    T_FE_YYerror = 256,            /* error  */
    T_FE_YYUNDEF = 257,            /* "invalid token"  */
    T_IDENT = 258,                 /* IDENT  */
    T_STRING = 259,                /* STRING  */
    T_INT = 260,                   /* INT  */
    T_FLOAT = 261,                 /* FLOAT  */
    T_MODEL = 262,                 /* MODEL  */
    T_INPUT = 263,                 /* INPUT  */
    T_PARAM = 264,                 /* PARAM  */
    T_BUFFER = 265,                /* BUFFER  */
    T_RETURN = 266,                /* RETURN  */
    T_TRUE = 267,                  /* TRUE  */
    T_FALSE = 268,                 /* FALSE  */
    T_NONE = 269,                  /* NONE  */
    T_POW = 270,                   /* POW  */
    T_NEWLINE = 271,               /* NEWLINE  */
    T_UNARY = 272                  /* UNARY  */
  };
  typedef enum fe_yytokentype fe_yytoken_kind_t;
#endif

/* Value type.  */
#if ! defined FE_YYSTYPE && ! defined FE_YYSTYPE_IS_DECLARED
union FE_YYSTYPE
{

  int64_t i;
  double f;
  const char *s;
  FeExpr *expr;
  FeStmt *stmt;
  FeModel *model;
  FeType *type;
  FeArg *arg;
  FeList *list;


};
typedef union FE_YYSTYPE FE_YYSTYPE;
# define FE_YYSTYPE_IS_TRIVIAL 1
# define FE_YYSTYPE_IS_DECLARED 1
#endif

/* Location type.  */
typedef SrcLoc FE_YYLTYPE;




int fe_yyparse (void *scanner, FeParser *p);


#endif /* !YY_FE_YY_PARSER_H_INCLUDED  */
