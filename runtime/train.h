/* runtime/train.h — training and evaluation loops (included by runtime.h; train.c). Being written. */
#ifndef JSCC_RUNTIME_TRAIN_H
#define JSCC_RUNTIME_TRAIN_H
#endif
