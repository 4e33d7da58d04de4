package dev.gradguard.metrics.tensorboard;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The TensorBoard HParams plugin's summaries, by the field numbers of its {@code api.proto} and
 * {@code plugin_data.proto} (with {@code google.protobuf.Value} for the values): an experiment naming the
 * hyperparameters and metrics, and one session's start (its hyperparameter values) and end (its status).
 * The HParams tab then lists each run with its values next to the metrics' last scalars.
 */
final class HParams {
    static final String PLUGIN_NAME = "hparams";
    static final String EXPERIMENT_TAG = "_hparams_/experiment";
    static final String SESSION_START_TAG = "_hparams_/session_start_info";
    static final String SESSION_END_TAG = "_hparams_/session_end_info";

    // HParamsPluginData
    private static final int EXPERIMENT = 2;
    private static final int SESSION_START_INFO = 3;
    private static final int SESSION_END_INFO = 4;
    // Experiment
    private static final int HPARAM_INFOS = 4;
    private static final int METRIC_INFOS = 5;
    // HParamInfo
    private static final int INFO_NAME = 1;
    private static final int INFO_TYPE = 4;
    private static final int DATA_TYPE_STRING = 1;
    private static final int DATA_TYPE_BOOL = 2;
    private static final int DATA_TYPE_FLOAT64 = 3;
    // MetricInfo, MetricName
    private static final int METRIC_NAME = 1;
    private static final int METRIC_TAG = 2;
    // SessionStartInfo: map<string, google.protobuf.Value> hparams = 1, start_time_secs = 5
    private static final int HPARAMS = 1;
    private static final int START_TIME = 5;
    private static final int MAP_KEY = 1;
    private static final int MAP_VALUE = 2;
    // google.protobuf.Value
    private static final int NUMBER_VALUE = 2;
    private static final int STRING_VALUE = 3;
    private static final int BOOL_VALUE = 4;
    // SessionEndInfo
    private static final int STATUS = 1;
    private static final int END_TIME = 2;
    static final int STATUS_SUCCESS = 1;
    static final int STATUS_FAILURE = 2;

    private HParams() {
    }

    /** The experiment: every hyperparameter's name and type, and the metrics' scalar tags. */
    static byte[] experiment(Map<String, ?> hparams, List<String> metricTags) {
        ProtoWriter experiment = new ProtoWriter();
        for (Map.Entry<String, ?> e : hparams.entrySet()) {
            experiment.messageField(HPARAM_INFOS, new ProtoWriter().stringField(INFO_NAME, e.getKey())
                    .int32Field(INFO_TYPE, dataType(e.getValue())));
        }
        for (String tag : metricTags) {
            experiment.messageField(METRIC_INFOS, new ProtoWriter()
                    .messageField(METRIC_NAME, new ProtoWriter().stringField(METRIC_TAG, tag)));
        }
        return new ProtoWriter().messageField(EXPERIMENT, experiment).toByteArray();
    }

    /** A session's start: its hyperparameters' values (numbers, booleans, and everything else as text). */
    static byte[] sessionStart(Map<String, ?> hparams, double startTimeSeconds) {
        ProtoWriter start = new ProtoWriter();
        for (Map.Entry<String, ?> e : hparams.entrySet()) {
            start.messageField(HPARAMS, new ProtoWriter().stringField(MAP_KEY, e.getKey())
                    .messageField(MAP_VALUE, value(e.getValue())));
        }
        start.doubleField(START_TIME, startTimeSeconds);
        return new ProtoWriter().messageField(SESSION_START_INFO, start).toByteArray();
    }

    /** A session's end. */
    static byte[] sessionEnd(boolean succeeded, double endTimeSeconds) {
        ProtoWriter end = new ProtoWriter().int32Field(STATUS, succeeded ? STATUS_SUCCESS : STATUS_FAILURE)
                .doubleField(END_TIME, endTimeSeconds);
        return new ProtoWriter().messageField(SESSION_END_INFO, end).toByteArray();
    }

    private static int dataType(Object v) {
        return v instanceof Number ? DATA_TYPE_FLOAT64 : v instanceof Boolean ? DATA_TYPE_BOOL : DATA_TYPE_STRING;
    }

    private static ProtoWriter value(Object v) {
        if (v instanceof Number n) {
            return new ProtoWriter().doubleInOneof(NUMBER_VALUE, n.doubleValue());
        }
        if (v instanceof Boolean b) {
            return new ProtoWriter().boolInOneof(BOOL_VALUE, b);
        }
        if (v instanceof List<?> list) {
            return new ProtoWriter().stringInOneof(STRING_VALUE,
                    list.stream().map(String::valueOf).collect(Collectors.joining(",")));
        }
        return new ProtoWriter().stringInOneof(STRING_VALUE, String.valueOf(v));
    }
}
