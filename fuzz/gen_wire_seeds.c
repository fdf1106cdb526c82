/*
 * gen_wire_seeds.c — writes the seed corpus of the wire_decode fuzzer
 * (fuzz/corpus/wire_decode/): valid batches from the real encoder (small
 * and uncompressed, large and LZ4, with snapshots, spans, merged and
 * absent strings), each also as a mode-1/2 payload, and near-valid ones
 * (truncated, one byte off) so the fuzzer starts next to every check.
 *
 * Usage: gen-wire-seeds DIR   (cc -Iwire fuzz/gen_wire_seeds.c wire/wire.c -llz4)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static const char *g_dir;

static void seed_write(const char *name, uint8_t mode, const uint8_t *p, size_t n,
                       uint32_t count, int wrapped) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) exit(1);
    fputc(mode, f);
    if (wrapped) {
        fputc((int)(count & 0xff), f);
        fputc((int)(count >> 8 & 0xff), f);
    }
    fwrite(p, 1, n, f);
    fclose(f);
}

static wire_event seed_event(int i, const char *msg) {
    wire_event e = {0};
    e.ts_us = 1764280000000000ull + (uint64_t)i;
    e.count = 1;
    e.level = (uint8_t)(i % 4);
    e.kind = (uint8_t)(i % 3);
    e.span_id = e.kind ? 0x9f3a0000000012ull : 0;
    e.parent_id = i % 2 ? 0x9f3a0000000003ull : 0;
    e.duration_us = e.kind == WIRE_KIND_SPAN_END ? 125000 : 0;
    e.agent = (wire_str){i % 2 ? "coder-1" : "tester-1", i % 2 ? 7u : 8u};
    e.type = (wire_str){"task.completed", 14};
    e.message = (wire_str){msg, (uint32_t)strlen(msg)};
    e.metadata = i % 3 ? (wire_str){"{\"taskId\":\"t-12\"}", 17} : (wire_str){NULL, 0};
    return e;
}

static void seed_batch(const char *name, int n, int snapshot) {
    wire_encoder enc;
    wire_encoder_init(&enc);
    wire_encoder_begin(&enc, (wire_str){"swarm-1a2b3c", 12}, (wire_str){"demo", 4});
    for (int i = 0; i < n; i++) {
        wire_event e = seed_event(i, i % 5 ? "task t-12 done" : "caf\xc3\xa9 \xe2\x9c\x93");
        wire_encoder_add(&enc, &e);
    }
    if (snapshot) {
        const char *state = "{\"files\":[\"a.c\"],\"step\":3}";
        wire_event s = seed_event(0, "");
        s.kind = WIRE_KIND_SNAPSHOT;
        s.span_id = 0;
        s.type = (wire_str){"memory", 6};
        s.message = (wire_str){NULL, 0};
        s.metadata = (wire_str){state, (uint32_t)strlen(state)};
        s.aux = wire_checksum(state, strlen(state));
        wire_encoder_add(&enc, &s);
    }
    wire_header h = {0};
    h.producer_id = 0x9f3a1b2c3d4e5f60ull;
    h.sequence = 17;
    const uint8_t *msg;
    size_t len;
    if (wire_encoder_finish(&enc, &h, &msg, &len)) exit(1);
    char nm[128];
    snprintf(nm, sizeof nm, "%s-msg", name);
    seed_write(nm, 0, msg, len, 0, 0);
    snprintf(nm, sizeof nm, "%s-truncated", name);
    seed_write(nm, 0, msg, len - 1, 0, 0);
    if (!(h.flags & WIRE_FLAG_LZ4)) { /* the payload is the raw bytes */
        snprintf(nm, sizeof nm, "%s-raw", name);
        seed_write(nm, 1, msg + WIRE_HEADER_SIZE, len - WIRE_HEADER_SIZE, h.event_count, 1);
        snprintf(nm, sizeof nm, "%s-lz4", name);
        seed_write(nm, 2, msg + WIRE_HEADER_SIZE, len - WIRE_HEADER_SIZE, h.event_count, 1);
        snprintf(nm, sizeof nm, "%s-count-off", name);
        seed_write(nm, 1, msg + WIRE_HEADER_SIZE, len - WIRE_HEADER_SIZE, h.event_count + 1, 1);
    }
    wire_encoder_free(&enc);
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    g_dir = argv[1];
    seed_batch("one-event", 1, 0);
    seed_batch("five-events", 5, 0);
    seed_batch("snapshot", 2, 1);
    seed_batch("lz4-batch", 40, 0);
    uint8_t hdr[WIRE_HEADER_SIZE];
    wire_header h = {.magic = WIRE_MAGIC, .version = WIRE_VERSION, .producer_id = 1,
                     .sequence = 1};
    wire_header_write(hdr, &h);
    seed_write("header-only", 0, hdr, sizeof hdr, 0, 0);
    seed_write("empty", 0, hdr, 0, 0, 0);
    return 0;
}
