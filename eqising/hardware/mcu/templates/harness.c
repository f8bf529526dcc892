/* Host harness of the exported eqint8 library (reads text on stdin, prints text).
 *
 *   harness sizes
 *       bytes of the model and of the prediction and training scratch structs, of the batch buffers
 *       (SRAM) and of the const objects (flash)
 *   harness predict SEED NUM_READS < inputs
 *       inputs: a count n, then n rows of EQ_N_IN values 0..255; prints one class per row
 *   harness train SEED STEPS BATCH NUDGE_Q LR_Q LR_BIAS_Q SKIP < examples
 *       examples: a count n, then n rows of EQ_N_IN values and a class index; step s trains
 *       on examples (s * BATCH + k) mod n, k < BATCH, with seed SEED + s; prints the
 *       statistics of every step, then the weights q, the scales m and the biases b
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "eqint8.h"

#define MAX_EXAMPLES 4096

static uint8_t inputs[MAX_EXAMPLES][EQ_N_IN];
static uint8_t labels[MAX_EXAMPLES];
static uint8_t batch_x[EQ_MAX_BATCH * EQ_N_IN];
static uint8_t batch_y[EQ_MAX_BATCH];
static eq_model_t model;
static eq_infer_ws_t infer_ws;
static eq_train_ws_t train_ws;

static long read_examples(int with_labels) {
    long n, i, j, v;
    if (scanf("%ld", &n) != 1 || n < 1 || n > MAX_EXAMPLES) return -1;
    for (i = 0; i < n; ++i) {
        for (j = 0; j < EQ_N_IN; ++j) {
            if (scanf("%ld", &v) != 1 || v < 0 || v > 255) return -1;
            inputs[i][j] = (uint8_t)v;
        }
        if (with_labels) {
            if (scanf("%ld", &v) != 1 || v < 0 || v >= EQ_N_CLASSES) return -1;
            labels[i] = (uint8_t)v;
        }
    }
    return n;
}

static int usage(void) {
    fprintf(stderr, "usage: harness sizes | predict SEED NUM_READS | train SEED STEPS BATCH NUDGE_Q LR_Q LR_BIAS_Q SKIP\n");
    return 2;
}

int main(int argc, char **argv) {
    long n, i, k, s;
    eq_model_init(&model);
    if (argc == 2 && strcmp(argv[1], "sizes") == 0) {
        printf("model %lu\ninfer_ws %lu\ntrain_ws %lu\n", (unsigned long)sizeof(eq_model_t),
               (unsigned long)sizeof(eq_infer_ws_t), (unsigned long)sizeof(eq_train_ws_t));
        printf("batch_x %lu\nbatch_y %lu\n", (unsigned long)sizeof(batch_x), (unsigned long)sizeof(batch_y));
        printf("frozen_q %lu\ninitial_q %lu\ninitial_m %lu\ninitial_b %lu\nrow_offsets %lu\nrow_base %lu\n",
               (unsigned long)sizeof(eq_frozen_q), (unsigned long)sizeof(eq_initial_q),
               (unsigned long)sizeof(eq_initial_m), (unsigned long)sizeof(eq_initial_b),
               (unsigned long)sizeof(eq_row_offsets), (unsigned long)sizeof(eq_row_base));
        printf("sigmoid %lu\nbetas %lu\nindex_tables %lu\n", (unsigned long)sizeof(eq_sigmoid),
               (unsigned long)sizeof(eq_betas),
               (unsigned long)(sizeof(eq_layer_sizes) + sizeof(eq_spin_offsets) + sizeof(eq_weight_offsets)));
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "predict") == 0) {
        uint32_t seed = (uint32_t)strtoul(argv[2], NULL, 10);
        int reads = atoi(argv[3]);
        if (reads < 1 || (n = read_examples(0)) < 0) return usage();
        for (i = 0; i < n; ++i) printf("%d\n", eq_predict(&model, &infer_ws, inputs[i], seed, reads));
        return 0;
    }
    if (argc == 9 && strcmp(argv[1], "train") == 0) {
        uint32_t seed = (uint32_t)strtoul(argv[2], NULL, 10);
        long steps = atol(argv[3]);
        int batch = atoi(argv[4]);
        eq_hparams_t hp;
        eq_stats_t st;
        hp.nudge_q = (int32_t)atol(argv[5]);
        hp.lr_q = (uint32_t)strtoul(argv[6], NULL, 10);
        hp.lr_bias_q = (uint32_t)strtoul(argv[7], NULL, 10);
        hp.skip_correct = atoi(argv[8]);
        if (batch < 1 || batch > EQ_MAX_BATCH || (n = read_examples(1)) < 0) return usage();
        for (s = 0; s < steps; ++s) {
            for (k = 0; k < batch; ++k) {
                long e = (s * batch + k) % n;
                memcpy(batch_x + k * EQ_N_IN, inputs[e], EQ_N_IN);
                batch_y[k] = labels[e];
            }
            if (eq_train_step(&model, &train_ws, batch_x, batch_y, batch, seed + (uint32_t)s, &hp, &st) != 0) return 1;
            printf("step %ld saturations %lu rescales %lu steps_written %lu skipped %lu\n", s, (unsigned long)st.saturations,
                   (unsigned long)st.rescales, (unsigned long)st.steps_written, (unsigned long)st.skipped);
        }
        printf("q");
        for (k = 0; k < EQ_N_MATRICES; ++k)
            for (i = 0; i < eq_layer_sizes[k]; ++i)
                for (s = 0; s < eq_layer_sizes[k + 1]; ++s) printf(" %d", eq_weights_row(&model, (int)k, (int32_t)i)[s]);
        printf("\nm");
        for (i = 0; i < EQ_N_SPINS; ++i) printf(" %ld", (long)model.m[i]);
        printf("\nb");
        for (i = 0; i < EQ_N_SPINS; ++i) printf(" %ld", (long)model.b[i]);
        printf("\n");
        return 0;
    }
    return usage();
}
