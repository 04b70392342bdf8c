/* io_uring user_data as the client's and serve's event loops pack it: operation (8 bits)
 * | connection slot (24 bits) | generation (32 bits). The generation changes whenever a
 * slot's socket is closed, so completions that arrive late for a previous socket are
 * recognised and dropped. */
#ifndef RINGLOAD_COMMON_USERDATA_H
#define RINGLOAD_COMMON_USERDATA_H

#include <stdint.h>

#define RL_UD(op, slot, gen) ((uint64_t)(op) << 56 | (uint64_t)(slot) << 32 | (uint32_t)(gen))
#define RL_UD_OP(ud)   ((unsigned)((ud) >> 56))
#define RL_UD_SLOT(ud) ((uint32_t)((ud) >> 32) & 0xffffff)
#define RL_UD_GEN(ud)  ((uint32_t)(ud))
#define RL_UD_MAX_SLOTS (1u << 24)

#endif
