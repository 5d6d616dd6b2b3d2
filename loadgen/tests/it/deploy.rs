//! The deployment files under `deploy/`: the Kubernetes Indexed Job and its merge Job
//! (`deploy/k8s/*.yaml`), the AWS Batch job definition and submissions (`deploy/aws-batch/*.json`).
//!
//! Each file is parsed and its structure held to what a sharded run needs (as many pods or array
//! children as `--shards`, the merge over the same shards on the same volume, a grace period above the
//! drain timeout, the merge depending on the array job); the Kubernetes documents are checked against
//! the Kubernetes schema with `kubernetes-validate` and the Batch requests against botocore's model of
//! `RegisterJobDefinition` and `SubmitJob`, both from the test venv; and the real binary runs each
//! container's arguments, as the platform would expand them, with `--dry-run`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::support::scratch;

/// `deploy/<sub>` in the workspace.
fn deploy_dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("loadgen sits in the workspace").join("deploy").join(sub)
}

/// Every file directly in `dir` whose name ends with one of `extensions`, sorted; at least one.
fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().and_then(|e| e.to_str()).is_some_and(|e| extensions.contains(&e)))
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no {extensions:?} files in {}", dir.display());
    found
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every YAML document of every file in deploy/k8s, as JSON, with its file's name.
fn k8s_documents() -> Vec<(String, Value)> {
    let mut documents = Vec::new();
    for path in files(&deploy_dir("k8s"), &["yaml", "yml"]) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for document in serde_yaml::Deserializer::from_str(&read(&path)) {
            let value = serde_yaml::Value::deserialize(document).unwrap_or_else(|e| panic!("{name}: {e}"));
            if !value.is_null() {
                documents.push((name.clone(), serde_json::to_value(value).unwrap_or_else(|e| panic!("{name}: {e}"))));
            }
        }
    }
    documents
}

/// The one document of this kind and name.
fn resource<'a>(documents: &'a [(String, Value)], kind: &str, name: &str) -> &'a Value {
    let found: Vec<&Value> =
        documents.iter().map(|(_, d)| d).filter(|d| d["kind"] == kind && d["metadata"]["name"] == name).collect();
    assert_eq!(found.len(), 1, "{kind} {name:?}: {} documents under deploy/k8s", found.len());
    found[0]
}

/// The one Job whose only container runs the loadgen subcommand `subcommand`.
fn job<'a>(documents: &'a [(String, Value)], subcommand: &str) -> &'a Value {
    let found: Vec<&Value> = documents
        .iter()
        .map(|(_, d)| d)
        .filter(|d| d["kind"] == "Job" && container(d)["args"][0] == subcommand)
        .collect();
    assert_eq!(found.len(), 1, "Jobs running `loadgen {subcommand}`: {}", found.len());
    found[0]
}

fn pod(job: &Value) -> &Value {
    &job["spec"]["template"]["spec"]
}

fn container(job: &Value) -> &Value {
    let containers = pod(job)["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1, "one container per pod: {containers:?}");
    &containers[0]
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("a list of strings: {value}"))
        .iter()
        .map(|s| s.as_str().unwrap_or_else(|| panic!("a string: {s}")).to_owned())
        .collect()
}

/// The value of `--name=VALUE` (or `--name VALUE`); panics when the flag is repeated.
fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    let prefix = format!("{name}=");
    let values: Vec<&str> = args
        .iter()
        .enumerate()
        .filter_map(|(i, arg)| match arg.strip_prefix(&prefix) {
            Some(value) => Some(value),
            None if arg == name => Some(args.get(i + 1).map_or("", String::as_str)),
            None => None,
        })
        .collect();
    assert!(values.len() <= 1, "{name} given {} times in {args:?}", values.len());
    values.first().copied()
}

fn shards(args: &[String]) -> u64 {
    let value = flag(args, "--shards").unwrap_or_else(|| panic!("no --shards in {args:?}"));
    value.parse().unwrap_or_else(|e| panic!("--shards={value}: {e}"))
}

fn duration(args: &[String], name: &str, default: &str) -> Duration {
    let value = flag(args, name).unwrap_or(default);
    duration_flag::parse(value).unwrap_or_else(|e| panic!("{name}={value}: {e}"))
}

/// The arguments after the subcommand that are neither flags nor a separate flag's value (the
/// manifests write every boolean flag as `--flag`, every valued one as `--flag=VALUE` or
/// `--flag VALUE`, so an argument after a bare `--flag` is its value).
fn positionals(args: &[String]) -> Vec<&str> {
    let mut found = Vec::new();
    for (i, arg) in args.iter().enumerate().skip(1) {
        let after_bare_flag = i > 1 && args[i - 1].starts_with("--") && !args[i - 1].contains('=');
        if !arg.starts_with('-') && !after_bare_flag {
            found.push(arg.as_str());
        }
    }
    found
}

/// The folder a path is in.
fn parent(path: &str) -> &str {
    path.rsplit_once('/').map(|(dir, _)| dir).unwrap_or_else(|| panic!("{path} has no folder"))
}

/// The PersistentVolumeClaim behind the mount of `pod_job`'s container that holds `path`.
fn claim_holding<'a>(pod_job: &'a Value, path: &str) -> &'a str {
    let mounts = container(pod_job)["volumeMounts"].as_array().expect("volumeMounts");
    let mount = mounts
        .iter()
        .find(|m| {
            let at = m["mountPath"].as_str().expect("mountPath");
            path == at || path.starts_with(&format!("{}/", at.trim_end_matches('/')))
        })
        .unwrap_or_else(|| panic!("{path} is on no volume mount: {mounts:?}"));
    assert_ne!(mount["readOnly"], true, "{path} must be writable: {mount}");
    let volumes = pod(pod_job)["volumes"].as_array().expect("volumes");
    let volume = volumes
        .iter()
        .find(|v| v["name"] == mount["name"])
        .unwrap_or_else(|| panic!("the mount {} names no pod volume: {volumes:?}", mount["name"]));
    volume["persistentVolumeClaim"]["claimName"]
        .as_str()
        .unwrap_or_else(|| panic!("volume {} is not a PersistentVolumeClaim", volume["name"]))
}

#[test]
fn the_k8s_shard_job_runs_one_indexed_pod_per_shard_until_the_drain_is_done() {
    let documents = k8s_documents();
    let shard_job = job(&documents, "agentcore");
    let spec = &shard_job["spec"];
    let args = strings(&container(shard_job)["args"]);
    let shards = shards(&args);
    assert!(shards >= 2, "--shards={shards}");
    assert_eq!(spec["completionMode"], "Indexed", "the index comes from JOB_COMPLETION_INDEX");
    assert_eq!(spec["completions"], shards, "completions == --shards");
    assert_eq!(spec["parallelism"], shards, "parallelism == --shards: every shard at once");
    let backoff = spec["backoffLimit"].as_u64().expect("backoffLimit set (the default, 6, reruns shards late)");
    assert!(backoff < 6, "backoffLimit {backoff}");
    assert_eq!(pod(shard_job)["restartPolicy"], "Never");

    let grace = pod(shard_job)["terminationGracePeriodSeconds"].as_u64().unwrap_or(30);
    let drain = duration(&args, "--drain-timeout", "10s");
    assert!(Duration::from_secs(grace) > drain, "terminationGracePeriodSeconds {grace} <= --drain-timeout {drain:?}");

    let account = pod(shard_job)["serviceAccountName"].as_str().expect("a service account for IRSA / Pod Identity");
    assert_eq!(account, "loadgen");
    resource(&documents, "ServiceAccount", account);

    let index = container(shard_job)["env"]
        .as_array()
        .expect("env")
        .iter()
        .find(|e| e["name"] == "JOB_COMPLETION_INDEX")
        .expect("JOB_COMPLETION_INDEX in env, so that $(JOB_COMPLETION_INDEX) expands in args");
    assert_eq!(
        index["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    );
    assert_eq!(flag(&args, "--start-at"), Some("$(START_AT)"));
    assert_eq!(flag(&args, "--output"), Some("json"));
    let out = flag(&args, "--out").expect("--out on the shared volume");
    assert!(out.contains("$(JOB_COMPLETION_INDEX)"), "each shard writes a file of its own: {out}");
    let claim = claim_holding(shard_job, out);
    let pvc = resource(&documents, "PersistentVolumeClaim", claim);
    assert!(strings(&pvc["spec"]["accessModes"]).contains(&"ReadWriteMany".to_owned()), "{pvc}");
}

#[test]
fn the_k8s_merge_job_waits_for_the_same_shards_on_the_same_volume() {
    let documents = k8s_documents();
    let (shard_job, merge_job) = (job(&documents, "agentcore"), job(&documents, "merge"));
    let shard_args = strings(&container(shard_job)["args"]);
    let args = strings(&container(merge_job)["args"]);
    assert_eq!(shards(&args), shards(&shard_args), "the merge's --shards is the shard Job's");
    assert_eq!(pod(merge_job)["restartPolicy"], "Never");
    assert!(merge_job["spec"]["backoffLimit"].is_u64(), "backoffLimit set");
    assert_eq!(container(merge_job)["image"], container(shard_job)["image"]);

    let shard_out = flag(&shard_args, "--out").expect("--out");
    assert_eq!(positionals(&args), [parent(shard_out)], "the merge reads the folder the shards write to");
    let out = flag(&args, "--out").expect("the merge's --out");
    assert_eq!(parent(out), parent(shard_out));
    assert!(out.ends_with("/merged.json"), "the merge skips merged.json, not any other name: {out}");
    assert_eq!(claim_holding(merge_job, out), claim_holding(shard_job, shard_out), "one volume");
    assert_eq!(flag(&args, "--output"), Some("json"));
    let wait = duration(&args, "--wait", "0s");
    assert!(wait > Duration::ZERO, "--wait lets the merge start with the shards");
    if let Some(deadline) = merge_job["spec"]["activeDeadlineSeconds"].as_u64() {
        assert!(Duration::from_secs(deadline) > wait, "activeDeadlineSeconds {deadline} <= --wait {wait:?}");
    }
}

#[test]
fn k8s_pods_run_unprivileged_with_bounded_resources() {
    let documents = k8s_documents();
    for subcommand in ["agentcore", "merge"] {
        let job = job(&documents, subcommand);
        let (pod_security, container) = (&pod(job)["securityContext"], container(job));
        let security = &container["securityContext"];
        let context = format!("loadgen {subcommand}: {security} {pod_security}");
        assert!(security["runAsNonRoot"] == true || pod_security["runAsNonRoot"] == true, "{context}");
        assert_eq!(security["readOnlyRootFilesystem"], true, "{context}");
        assert_eq!(security["allowPrivilegeEscalation"], false, "{context}");
        assert_eq!(strings(&security["capabilities"]["drop"]), ["ALL"], "{context}");
        for bound in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                assert!(
                    container["resources"][bound][resource].is_string(),
                    "loadgen {subcommand}: {bound}.{resource}"
                );
            }
        }
        assert_eq!(container["image"], "<account>.dkr.ecr.<region>.amazonaws.com/loadgen:latest");
    }
}

/// `$(NAME)` references in `text`.
fn references(text: &str) -> Vec<&str> {
    text.split("$(").skip(1).filter_map(|rest| rest.split_once(')').map(|(name, _)| name)).collect()
}

#[test]
fn k8s_args_reference_only_variables_the_container_defines() {
    // Kubernetes expands `$(NAME)` only for a NAME in the container's env; any other stays literal and
    // loadgen would get `$(NAME)` as a value.
    let documents = k8s_documents();
    for subcommand in ["agentcore", "merge"] {
        let container = container(job(&documents, subcommand));
        let defined: Vec<String> = container["env"]
            .as_array()
            .map_or(vec![], |env| env.iter().map(|e| e["name"].as_str().expect("env name").to_owned()).collect());
        for arg in strings(&container["args"]) {
            for name in references(&arg) {
                assert!(defined.iter().any(|d| d == name), "loadgen {subcommand}: {arg} uses $({name}), not in env");
            }
        }
    }
}

/// The test venv (`cargo xtask test` installs it; AGENTCORE_LAB_VENV points elsewhere).
fn venv_program(name: &str) -> PathBuf {
    let program = test_support::python::venv().join("bin").join(name);
    assert!(
        program.is_file(),
        "{} is missing: the test venv predates xtask/test-requirements.txt's {name}; run `cargo xtask test`",
        program.display()
    );
    program
}

fn kubernetes_validate(files: &[PathBuf]) -> std::process::Output {
    Command::new(venv_program("kubernetes-validate"))
        .arg("--strict")
        .args(files)
        .stdin(Stdio::null())
        .output()
        .expect("run kubernetes-validate")
}

#[test]
fn k8s_manifests_pass_the_kubernetes_schema() {
    let manifests = files(&deploy_dir("k8s"), &["yaml", "yml"]);
    let output = kubernetes_validate(&manifests);
    let said = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "kubernetes-validate --strict: {}\n{said}", output.status);
    let passed = said.lines().filter(|l| l.contains(" passed for resource ")).count();
    assert_eq!(passed, k8s_documents().len(), "one pass per document:\n{said}");

    // The schema check can fail: a field of the wrong type and one Kubernetes does not know.
    let dir = scratch("deploy-schema");
    let job = manifests.iter().find(|p| read(p).contains("completionMode")).expect("the shard Job's file");
    let bad = dir.join("bad-job.yaml");
    let text = read(job).replacen("completions: 4", "completions: four", 1).replacen("parallelism:", "paralelism:", 1);
    std::fs::write(&bad, text).unwrap();
    let output = kubernetes_validate(&[bad]);
    let said = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && said.contains("did not validate"), "{said}");
}

/// The JSON files of deploy/aws-batch by name.
fn batch_files() -> BTreeMap<String, Value> {
    files(&deploy_dir("aws-batch"), &["json"])
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let value = serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, value)
        })
        .collect()
}

/// The job definition, the array job's submission, the merge's submission.
fn batch_requests() -> (Value, Value, Value) {
    let files = batch_files();
    let pick = |what: &str, test: &dyn Fn(&Value) -> bool| {
        let found: Vec<&Value> = files.values().filter(|v| test(v)).collect();
        assert_eq!(found.len(), 1, "{what}: {} files in deploy/aws-batch", found.len());
        found[0].clone()
    };
    (
        pick("job definition", &|v| v.get("jobDefinitionName").is_some()),
        pick("array job submission", &|v| v.get("arrayProperties").is_some()),
        pick("merge submission", &|v| v.get("dependsOn").is_some()),
    )
}

#[test]
fn the_batch_array_job_has_one_child_per_shard_and_the_merge_depends_on_it() {
    let (definition, array, merge) = batch_requests();
    assert_eq!(definition["type"], "container");
    assert_eq!(definition["platformCapabilities"], json!(["FARGATE"]));
    let properties = &definition["containerProperties"];
    assert!(properties["executionRoleArn"].is_string(), "Fargate pulls from ECR and logs with the execution role");
    assert!(properties["jobRoleArn"].is_string(), "the role loadgen calls AgentCore with");
    let args = strings(&properties["command"]);
    assert_eq!(args[0], "agentcore");
    let shards = shards(&args);
    assert_eq!(array["arrayProperties"]["size"], shards, "array size == --shards (AWS_BATCH_JOB_ARRAY_INDEX)");
    assert_eq!(array["jobDefinition"], definition["jobDefinitionName"]);
    assert_eq!(flag(&args, "--output"), Some("json"), "results in CloudWatch Logs");
    // ECS stops a Fargate task's container 30 s after SIGTERM; Batch has no setting for it.
    assert!(duration(&args, "--drain-timeout", "10s") < Duration::from_secs(30));
    for arg in &args {
        if let Some(name) = arg.strip_prefix("Ref::") {
            assert!(definition["parameters"][name].is_string(), "Ref::{name} has no default in the job definition");
            assert!(array["parameters"][name].is_string(), "the array job does not set Ref::{name}");
        }
    }
    assert_eq!(definition["retryStrategy"]["attempts"], 1, "a shard run again would start late");

    // The merge: a plain dependency on the whole array job (N_TO_N would pair it child by child).
    let depends = merge["dependsOn"].as_array().expect("dependsOn");
    assert_eq!(depends.len(), 1, "{depends:?}");
    assert!(depends[0]["jobId"].is_string() && depends[0].get("type").is_none(), "{depends:?}");
    assert!(merge.get("arrayProperties").is_none(), "the merge is one job");
    assert_eq!(merge["jobDefinition"], definition["jobDefinitionName"]);
    assert_eq!(merge["jobQueue"], array["jobQueue"]);
    let merge_args = strings(&merge["containerOverrides"]["command"]);
    assert_eq!(merge_args[0], "merge");
    assert_eq!(self::shards(&merge_args), shards, "the merge's --shards is the array job's");
    let out = flag(&args, "--out").expect("--out on the EFS volume");
    assert_eq!(positionals(&merge_args), [parent(out)]);
    assert_eq!(parent(flag(&merge_args, "--out").expect("the merge's --out")), parent(out));
    if let Some(seconds) = merge["timeout"]["attemptDurationSeconds"].as_u64() {
        assert!(Duration::from_secs(seconds) > duration(&merge_args, "--wait", "0s"));
    }

    // --out is on the EFS volume.
    let mounts = properties["mountPoints"].as_array().expect("mountPoints");
    let mount = mounts
        .iter()
        .find(|m| out.starts_with(&format!("{}/", m["containerPath"].as_str().unwrap())))
        .unwrap_or_else(|| panic!("{out} is on no mount point: {mounts:?}"));
    assert_ne!(mount["readOnly"], true);
    let volume = properties["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|v| v["name"] == mount["sourceVolume"])
        .unwrap_or_else(|| panic!("mount point {mount} names no volume"));
    assert!(volume["efsVolumeConfiguration"]["fileSystemId"].is_string(), "{volume}");
}

/// Holds `value` against the botocore shape `name` of `model`: member names (none unknown, every
/// required one present), JSON types, enums.
fn check_shape(model: &Value, name: &str, value: &Value, at: &str, errors: &mut Vec<String>) {
    let shape = &model["shapes"][name];
    assert!(shape.is_object(), "no shape {name} in the model");
    let kind = shape["type"].as_str().expect("a shape type");
    let fits = match kind {
        "structure" => value.is_object(),
        "list" => value.is_array(),
        "map" => value.is_object(),
        "string" | "timestamp" | "blob" => value.is_string(),
        "integer" | "long" => value.is_i64() || value.is_u64(),
        "float" | "double" => value.is_number(),
        "boolean" => value.is_boolean(),
        other => panic!("shape {name}: type {other} not handled"),
    };
    if !fits {
        errors.push(format!("{at}: {value} is not a {kind} ({name})"));
        return;
    }
    match kind {
        "structure" => {
            let members = shape["members"].as_object().expect("members");
            for (key, item) in value.as_object().unwrap() {
                match members.get(key) {
                    Some(member) => {
                        check_shape(model, member["shape"].as_str().unwrap(), item, &format!("{at}.{key}"), errors)
                    }
                    None => errors.push(format!("{at}: unknown member {key:?} of {name}")),
                }
            }
            for required in shape["required"].as_array().into_iter().flatten() {
                if value.get(required.as_str().unwrap()).is_none() {
                    errors.push(format!("{at}: required member {required} of {name} missing"));
                }
            }
        }
        "list" => {
            for (i, item) in value.as_array().unwrap().iter().enumerate() {
                check_shape(model, shape["member"]["shape"].as_str().unwrap(), item, &format!("{at}[{i}]"), errors);
            }
        }
        "map" => {
            for (key, item) in value.as_object().unwrap() {
                check_shape(model, shape["value"]["shape"].as_str().unwrap(), item, &format!("{at}.{key}"), errors);
            }
        }
        "string" => {
            if let Some(allowed) = shape["enum"].as_array()
                && !allowed.contains(value)
            {
                errors.push(format!("{at}: {value} is not one of {allowed:?} ({name})"));
            }
        }
        _ => {}
    }
}

/// The errors of `request` against `operation`'s input shape.
fn batch_request_errors(model: &Value, operation: &str, request: &Value) -> Vec<String> {
    let input = model["operations"][operation]["input"]["shape"].as_str().expect("the operation's input");
    let mut errors = Vec::new();
    check_shape(model, input, request, operation, &mut errors);
    errors
}

#[test]
fn batch_requests_fit_botocores_model_of_the_batch_api() {
    // botocore's loader reads the model whether it ships as service-2.json or service-2.json.gz.
    let output = Command::new(venv_program("python"))
        .args([
            "-c",
            "import json, sys, botocore, botocore.loaders as l; \
             m = l.Loader().load_service_model('batch', 'service-2'); \
             print(botocore.__version__, file=sys.stderr); json.dump(m, sys.stdout)",
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run the venv's python");
    assert!(output.status.success(), "botocore's batch model: {}", String::from_utf8_lossy(&output.stderr));
    let model: Value = serde_json::from_slice(&output.stdout).expect("the model as JSON");

    let (definition, array, merge) = batch_requests();
    for (operation, request) in [("RegisterJobDefinition", &definition), ("SubmitJob", &array), ("SubmitJob", &merge)] {
        let errors = batch_request_errors(&model, operation, request);
        assert!(errors.is_empty(), "{operation}:\n  {}", errors.join("\n  "));
    }

    // The check can fail: a misspelt member, a string for a number, a value outside an enum, a
    // required member left out.
    let mut bad = definition.clone();
    let properties = bad["containerProperties"].as_object_mut().unwrap();
    let mounts = properties.remove("mountPoints").unwrap();
    properties.insert("mountPoint".into(), mounts);
    bad["type"] = json!("Container");
    bad["timeout"]["attemptDurationSeconds"] = json!("3600");
    bad.as_object_mut().unwrap().remove("jobDefinitionName");
    let errors = batch_request_errors(&model, "RegisterJobDefinition", &bad).join("\n");
    for expected in ["unknown member \"mountPoint\"", "not one of", "is not a integer", "jobDefinitionName"] {
        assert!(errors.contains(expected), "{expected}:\n{errors}");
    }
}

/// A start time an hour from now, in unix seconds (what `--start-at` takes besides RFC 3339).
fn start_in_an_hour() -> String {
    (SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 3600).to_string()
}

/// `arg` (`PATH` or `--flag=PATH`) with a path on the volume mounted at `from` moved to `to`.
fn on_scratch(arg: &str, from: &str, to: &Path) -> String {
    let (flag, path) = match arg.split_once('=') {
        Some((flag, path)) if flag.starts_with("--") => (format!("{flag}="), path),
        _ => (String::new(), arg),
    };
    match path.strip_prefix(from) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => format!("{flag}{}{rest}", to.display()),
        _ => arg.to_owned(),
    }
}

/// The binary with `args` and `--dry-run`, the host's AWS set-up and proxies removed, `env` set;
/// panics unless it exits 0 within 60 s.
fn dry_run(label: &str, args: &[String], env: &[(&str, &str)]) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    test_support::process::without_host_aws(&mut command);
    command
        .args(args)
        .arg("--dry-run")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("JOB_COMPLETION_INDEX")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("start loadgen");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("poll loadgen").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{label}: `loadgen {} --dry-run` still ran after 60 s", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("loadgen's output");
    assert!(
        output.status.success(),
        "{label}: `loadgen {} --dry-run` ({env:?}): {}\nstdout: {}\nstderr: {}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_container_command_passes_loadgen_dry_run() {
    let dir = scratch("deploy-dry-run");
    let start = start_in_an_hour();

    // Kubernetes: the env the pod gets (the Job controller's index, the ConfigMap's start time),
    // `$(NAME)` expanded from it as the kubelet does, the volume at a scratch folder.
    let documents = k8s_documents();
    for subcommand in ["agentcore", "merge"] {
        let container = container(job(&documents, subcommand));
        let mut env: Vec<(String, String)> = Vec::new();
        for entry in container["env"].as_array().into_iter().flatten() {
            let name = entry["name"].as_str().unwrap().to_owned();
            let value = match (&entry["value"], &entry["valueFrom"]) {
                (Value::String(value), _) => value.clone(),
                (_, from) if from["fieldRef"]["fieldPath"].as_str().unwrap_or("").contains("job-completion-index") => {
                    "2".to_owned()
                }
                (_, from) if from["configMapKeyRef"]["key"] == "start-at" => start.clone(),
                _ => panic!("env {name}: a source this test does not know: {entry}"),
            };
            env.push((name, value));
        }
        let mount = container["volumeMounts"][0]["mountPath"].as_str().expect("a mount");
        let args: Vec<String> = strings(&container["args"])
            .iter()
            .map(|arg| {
                let expanded = env.iter().fold(arg.clone(), |arg, (k, v)| arg.replace(&format!("$({k})"), v));
                on_scratch(&expanded, mount, &dir)
            })
            .collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        dry_run(&format!("k8s {subcommand}"), &args, &env);
    }

    // AWS Batch: Ref:: parameters from the submission (the start time as `--parameters` would set
    // it), the array index Batch sets, the EFS mount at a scratch folder.
    let (definition, array, merge) = batch_requests();
    let mount = definition["containerProperties"]["mountPoints"][0]["containerPath"].as_str().expect("a mount");
    let mut parameters = array["parameters"].as_object().expect("parameters").clone();
    parameters.insert("startAt".into(), json!(start));
    let args: Vec<String> = strings(&definition["containerProperties"]["command"])
        .iter()
        .map(|arg| match arg.strip_prefix("Ref::") {
            Some(name) => parameters[name].as_str().expect("a parameter").to_owned(),
            None => on_scratch(arg, mount, &dir),
        })
        .collect();
    dry_run("batch shard", &args, &[("AWS_BATCH_JOB_ARRAY_INDEX", "2")]);
    let args: Vec<String> =
        strings(&merge["containerOverrides"]["command"]).iter().map(|arg| on_scratch(arg, mount, &dir)).collect();
    dry_run("batch merge", &args, &[]);
}
