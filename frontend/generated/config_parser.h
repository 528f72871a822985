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

#ifndef YY_CFG_CONFIG_PARSER_H_INCLUDED
# define YY_CFG_CONFIG_PARSER_H_INCLUDED
/* Debug traces.  */
#ifndef CFGDEBUG
# if defined YYDEBUG
#if YYDEBUG
#   define CFGDEBUG 1
#  else
#   define CFGDEBUG 0
#  endif
# else /* ! defined YYDEBUG */
#  define CFGDEBUG 0
# endif /* ! defined YYDEBUG */
#endif  /* ! defined CFGDEBUG */
#if CFGDEBUG
extern int cfgdebug;
#endif
/* "%code requires" blocks.  */

#include "config.h"


/* Token kinds.  */
#ifndef CFGTOKENTYPE
# define CFGTOKENTYPE
  enum cfgtokentype
  {
    CT_CFGEMPTY = -2,
    CT_YYEOF = 0,                  /* "end of file"  */
    CT_CFGerror = 256,             /* error  */
    CT_CFGUNDEF = 257,             /* "invalid token"  */
    CT_KEY = 258,                  /* KEY  */
    CT_WORD = 259,                 /* WORD  */
    CT_SCALAR = 260,               /* SCALAR  */
    CT_NEWLINE = 261,              /* NEWLINE  */
    CT_LL = 262,                   /* LL  */
    CT_RR = 263                    /* RR  */
  };
  typedef enum cfgtokentype cfgtoken_kind_t;
#endif

/* Value type.  */
#if ! defined CFGSTYPE && ! defined CFGSTYPE_IS_DECLARED
union CFGSTYPE
{

  const char *s;
  CfgNode *node;
  CfgKey *key;


};
typedef union CFGSTYPE CFGSTYPE;
# define CFGSTYPE_IS_TRIVIAL 1
# define CFGSTYPE_IS_DECLARED 1
#endif

/* Location type.  */
typedef SrcLoc CFGLTYPE;




int cfgparse (void *scanner, CfgParser *p);


#endif /* !YY_CFG_CONFIG_PARSER_H_INCLUDED  */
