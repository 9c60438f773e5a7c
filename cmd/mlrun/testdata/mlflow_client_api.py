# Drives the real MLflow client (MlflowClient) against the tracking server at
# MLFLOW_TRACKING_URI and prints, as one JSON object on the last line of
# stdout, what the server answered. server_test.go checks the values; this
# script computes nothing the test expects, it only records answers.
#
# Usage: MLFLOW_TRACKING_URI=http://127.0.0.1:PORT python3 mlflow_client_api.py WORKDIR PIPELINE_RUN_ID
import json
import math
import os
import sys
import time

from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

workdir = sys.argv[1]
pipeline_run = sys.argv[2] if len(sys.argv) > 2 else ""
client = MlflowClient()
out = {}


def error_code(fn):
    try:
        fn()
    except MlflowException as e:
        return e.error_code
    return "no error"


# ---- experiments
exp_id = client.create_experiment("client-exp", tags={"team": "vision"})
out["exp_id"] = exp_id
out["dup_experiment"] = error_code(lambda: client.create_experiment("client-exp"))
client.set_experiment_tag(exp_id, "stage", "dev")
exp = client.get_experiment_by_name("client-exp")
out["exp_tags"] = exp.tags
out["exp_artifact_location"] = exp.artifact_location
other = client.create_experiment("other-exp")
client.rename_experiment(other, "renamed-exp")
out["renamed"] = client.get_experiment(other).name
out["search_exp_like"] = sorted(e.name for e in client.search_experiments(filter_string="name LIKE '%-exp'"))
out["search_exp_tag"] = [e.name for e in client.search_experiments(filter_string="tags.team = 'vision'")]
client.delete_experiment(other)
out["deleted_exp_stage"] = client.get_experiment(other).lifecycle_stage
out["active_exps"] = sorted(e.name for e in client.search_experiments())
out["deleted_exps"] = [e.name for e in client.search_experiments(view_type=ViewType.DELETED_ONLY)]
client.restore_experiment(other)
# The client turns RESOURCE_DOES_NOT_EXIST into None here.
out["missing_experiment_is_none"] = client.get_experiment_by_name("no-such-experiment") is None

# ---- runs: five runs with params, metric histories and tags
now = int(time.time() * 1000)
run_ids = []
for i in range(5):
    r = client.create_run(exp_id, run_name=f"trial-{i}", tags={"kind": "sweep"})
    opt = "adam" if i % 2 == 0 else "sgd"
    metrics = [Metric("loss", 1.0 / (i + 1) + step / 100.0, now + step, step) for step in range(10)]
    metrics.append(Metric("acc", 0.5 + i / 10.0, now, 0))
    client.log_batch(r.info.run_id, metrics=metrics,
                     params=[Param("lr", str(0.1 * (i + 1))), Param("opt", opt)],
                     tags=[RunTag("index", str(i))])
    client.log_metric(r.info.run_id, "loss", 1.0 / (i + 1), timestamp=now + 100, step=10)
    client.set_terminated(r.info.run_id)
    run_ids.append(r.info.run_id)
out["run_ids"] = run_ids

got = client.get_run(run_ids[2])
out["run2"] = {
    "name": got.info.run_name,
    "status": got.info.status,
    "params": got.data.params,
    "metrics": got.data.metrics,
    "tags": {k: v for k, v in got.data.tags.items() if not k.startswith("mlflow.")},
    "artifact_uri": got.info.artifact_uri,
    "end_time_set": got.info.end_time is not None and got.info.end_time > 0,
}
hist = client.get_metric_history(run_ids[2], "loss")
out["history"] = [[m.step, m.value] for m in hist]

found = client.search_runs([exp_id], filter_string="params.opt = 'adam' and metrics.acc >= 0.6",
                           order_by=["metrics.acc DESC"])
out["search_filter"] = [r.info.run_name for r in found]
found = client.search_runs([exp_id], order_by=["params.lr DESC"])
out["search_order"] = [r.info.run_name for r in found]
pages, token = [], None
while True:
    page = client.search_runs([exp_id], max_results=2, order_by=["attributes.run_name ASC"], page_token=token)
    pages.append([r.info.run_name for r in page])
    token = page.token
    if not token:
        break
out["pages"] = pages
out["bad_filter"] = error_code(lambda: client.search_runs([exp_id], filter_string="metrics.acc >>> 1"))

client.set_tag(run_ids[0], "note", "first")
client.delete_tag(run_ids[0], "index")
out["run0_tags"] = {k: v for k, v in client.get_run(run_ids[0]).data.tags.items() if not k.startswith("mlflow.")}
out["delete_missing_tag"] = error_code(lambda: client.delete_tag(run_ids[0], "no-such-tag"))
out["param_change"] = error_code(lambda: client.log_param(run_ids[0], "lr", "99"))
out["missing_run"] = error_code(lambda: client.get_run("0123456789abcdef0123456789abcdef"))

client.delete_run(run_ids[4])
out["deleted_runs"] = [r.info.run_name for r in client.search_runs([exp_id], run_view_type=ViewType.DELETED_ONLY)]
out["log_to_deleted"] = error_code(lambda: client.log_metric(run_ids[4], "x", 1.0))
client.restore_run(run_ids[4])
out["active_after_restore"] = len(client.search_runs([exp_id]))

# Non-finite values go over the wire as "NaN" and "Infinity".
nan_run = client.create_run(exp_id, run_name="nonfinite")
client.log_metric(nan_run.info.run_id, "nan", float("nan"))
client.log_metric(nan_run.info.run_id, "inf", float("inf"))
m = client.get_run(nan_run.info.run_id).data.metrics
out["nonfinite"] = [math.isnan(m["nan"]), math.isinf(m["inf"])]
client.set_terminated(nan_run.info.run_id, status="FAILED")
out["failed_status"] = client.get_run(nan_run.info.run_id).info.status

# Datasets given to log_inputs come back in get_run(...).inputs.
def dataset(name, digest, context):
    return DatasetInput(
        Dataset(name=name, digest=digest, source_type="local", source='{"uri": "/data/%s.csv"}' % name),
        tags=[InputTag(key="mlflow.data.context", value=context)],
    )
client.log_inputs(run_ids[1], [dataset("train", "d1", "training")])
client.log_inputs(run_ids[1], [dataset("eval", "d2", "eval")])
out["inputs"] = sorted(
    [d.dataset.name, d.dataset.digest, d.dataset.source, {t.key: t.value for t in d.tags}]
    for d in client.get_run(run_ids[1]).inputs.dataset_inputs
)

# ---- artifacts up and down
art_run = client.create_run(exp_id, run_name="artifacts")
rid = art_run.info.run_id
src = os.path.join(workdir, "upload")
os.makedirs(os.path.join(src, "sub"), exist_ok=True)
with open(os.path.join(src, "a.txt"), "w") as f:
    f.write("alpha\n")
with open(os.path.join(src, "sub", "b.txt"), "w") as f:
    f.write("beta\n")
single = os.path.join(workdir, "single.txt")
with open(single, "w") as f:
    f.write("single\n")
client.log_artifact(rid, single)
client.log_artifacts(rid, src, artifact_path="data")
out["artifact_list"] = [(a.path, a.is_dir, a.file_size) for a in client.list_artifacts(rid)]
out["artifact_list_data"] = [(a.path, a.is_dir) for a in client.list_artifacts(rid, "data")]
dst = os.path.join(workdir, "download")
os.makedirs(dst)
local = client.download_artifacts(rid, "data", dst)
with open(os.path.join(local, "sub", "b.txt")) as f:
    out["downloaded_b"] = f.read()
out["artifact_uri"] = client.get_run(rid).info.artifact_uri
client.set_terminated(rid)

# ---- model registry with aliases and stages
model_src = client.get_run(rid).info.artifact_uri + "/data"
client.create_registered_model("client-model", tags={"owner": "ml"}, description="first")
out["dup_model"] = error_code(lambda: client.create_registered_model("client-model"))
v1 = client.create_model_version("client-model", model_src, run_id=rid, tags={"v": "1"})
v2 = client.create_model_version("client-model", model_src, run_id=rid, description="second")
out["versions"] = [v1.version, v2.version]
out["v1_source"] = v1.source
client.set_registered_model_alias("client-model", "champion", v1.version)
client.set_registered_model_alias("client-model", "champion", v2.version)
out["champion"] = client.get_model_version_by_alias("client-model", "champion").version
out["bad_alias"] = error_code(lambda: client.set_registered_model_alias("client-model", "latest", "1"))
client.transition_model_version_stage("client-model", v1.version, "Production")
mv = client.transition_model_version_stage("client-model", v2.version, "production", archive_existing_versions=True)
out["v2_stage"] = mv.current_stage
out["v1_stage"] = client.get_model_version("client-model", v1.version).current_stage
out["latest_production"] = [v.version for v in client.get_latest_versions("client-model", stages=["Production"])]
client.set_model_version_tag("client-model", v2.version, "validated", "yes")
client.delete_model_version_tag("client-model", v1.version, "v")
client.update_model_version("client-model", v1.version, description="changed")
out["v1_description"] = client.get_model_version("client-model", v1.version).description
out["v2_tags"] = client.get_model_version("client-model", v2.version).tags
client.set_registered_model_tag("client-model", "team", "a")
client.delete_registered_model_tag("client-model", "owner")
client.update_registered_model("client-model", description="updated")
rm = client.get_registered_model("client-model")
out["model"] = {"tags": rm.tags, "description": rm.description, "aliases": rm.aliases}
out["search_models"] = [m.name for m in client.search_registered_models(filter_string="name LIKE 'client-%'")]
out["search_versions"] = sorted(v.version for v in client.search_model_versions("name='client-model'"))
out["download_uri"] = client.get_model_version_download_uri("client-model", v1.version)
client.rename_registered_model("client-model", "renamed-model")
out["renamed_versions"] = sorted(v.version for v in client.search_model_versions("name='renamed-model'"))
out["renamed_alias"] = client.get_model_version_by_alias("renamed-model", "champion").version
client.delete_model_version("renamed-model", v1.version)
out["missing_version"] = error_code(lambda: client.get_model_version("renamed-model", v1.version))
client.create_registered_model("doomed-model")
client.delete_registered_model("doomed-model")
out["missing_model"] = error_code(lambda: client.get_registered_model("doomed-model"))

# ---- runs recorded by `mlrun run` are visible to the client
if pipeline_run:
    pr = client.get_run(pipeline_run)
    out["pipeline_run"] = {"status": pr.info.status, "params": pr.data.params}
    out["pipeline_in_search"] = pipeline_run in [r.info.run_id for r in client.search_runs(["0"])]

print(json.dumps(out, sort_keys=True))
