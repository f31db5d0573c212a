/* pgorm/common.h — export macro, C++ guards and the basic includes every layer needs. */
#ifndef PGORM_COMMON_H
#define PGORM_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(PGORM_BUILDING) && defined(__GNUC__)
#define PGORM_API __attribute__((visibility("default")))
#else
#define PGORM_API
#endif

#ifdef __cplusplus
#define PGORM_BEGIN_DECLS extern "C" {
#define PGORM_END_DECLS }
#else
#define PGORM_BEGIN_DECLS
#define PGORM_END_DECLS
#endif

/* libpq's connection, for escape hatches; public headers never include libpq-fe.h. */
struct pg_conn;

#endif
