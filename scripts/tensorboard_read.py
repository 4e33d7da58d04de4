#!/usr/bin/env python3
"""Reads a run's TensorBoard event files with TensorBoard's own readers and prints one JSON object.

Needs the venv of scripts/pyenv.sh (tensorboard). Usage: tensorboard_read.py LOGDIR

  {"scalars": {TAG: [[step, value], ...]},           # event_accumulator.EventAccumulator, as the scalars plugin
   "hparams": {"experiment": {"hparams": [[name, type], ...], "metrics": [tag, ...]},
               "session_start": {NAME: value, ...}, "session_end": {"status": "STATUS_SUCCESS"}}}

The hparams part goes the way TensorBoard's HParams plugin goes: the plugin event accumulator (which
migrates the values as TensorBoard does on load), the summaries tagged for the "hparams" plugin, and the
plugin's own parsers (tensorboard.plugins.hparams.metadata). Non-finite numbers print as "NaN", "Infinity".
"""
import json
import math
import sys

from google.protobuf import json_format
from tensorboard.backend.event_processing import event_accumulator, plugin_event_accumulator
from tensorboard.plugins.hparams import metadata


def number(x):
    if not math.isfinite(x):
        return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")
    return x


def main(logdir):
    scalars_reader = event_accumulator.EventAccumulator(logdir, size_guidance={event_accumulator.SCALARS: 0})
    scalars_reader.Reload()
    scalars = {tag: [[e.step, number(e.value)] for e in scalars_reader.Scalars(tag)]
               for tag in scalars_reader.Tags()["scalars"]}

    plugin_reader = plugin_event_accumulator.EventAccumulator(logdir, size_guidance={"tensors": 0})
    plugin_reader.Reload()
    content = plugin_reader.PluginTagToContent(metadata.PLUGIN_NAME)
    hparams = {}
    if metadata.EXPERIMENT_TAG in content:
        experiment = metadata.parse_experiment_plugin_data(content[metadata.EXPERIMENT_TAG])
        hparams["experiment"] = {
            "hparams": [[info.name, info.type] for info in experiment.hparam_infos],
            "metrics": [info.name.tag for info in experiment.metric_infos]}
    if metadata.SESSION_START_INFO_TAG in content:
        start = metadata.parse_session_start_info_plugin_data(content[metadata.SESSION_START_INFO_TAG])
        hparams["session_start"] = {k: json_format.MessageToDict(v) for k, v in start.hparams.items()}
    if metadata.SESSION_END_INFO_TAG in content:
        end = metadata.parse_session_end_info_plugin_data(content[metadata.SESSION_END_INFO_TAG])
        hparams["session_end"] = json_format.MessageToDict(end)
    print(json.dumps({"scalars": scalars, "hparams": hparams}))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
