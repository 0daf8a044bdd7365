/* What a training run records, shared by its diagnostics, its report and
 * the runs read back for a comparison: one epoch's figures and the run's
 * settings in words. Not part of libnn. */
#ifndef NN_REPORT_RECORDS_H
#define NN_REPORT_RECORDS_H

#include "nn.h"

/* One epoch's figures. */
typedef struct {
    nn_epoch_stats train;
    double test_loss, test_accuracy;
} report_epoch;

/* Most settings a run records (option names and values as text). */
#define REPORT_MAX_SETTINGS 24

/* A run's settings as the command line gave them, in words: keys are
 * option names without "--" ("lr"), values as the option takes them
 * ("0.05"); what metrics.json records and comparisons tell runs apart by. */
typedef struct {
    int count;
    const char *key[REPORT_MAX_SETTINGS];
    const char *value[REPORT_MAX_SETTINGS];
} report_settings;

#endif
