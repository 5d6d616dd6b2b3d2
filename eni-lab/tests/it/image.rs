//! `eni-lab push-image` against moto's server: the ECR repository step (created once, tagged,
//! recorded), the registry login, and the push through a stand-in `docker`.

use std::collections::BTreeMap;

use crate::support::{assert_run_tagged, eni_lab, run_with_endpoint, scratch, sdk_config, start_moto, stderr, stdout};

#[tokio::test(flavor = "multi_thread")]
async fn push_image_creates_the_repository_once_tagged_and_decodes_the_login() {
    let moto = start_moto();
    let sdk = sdk_config(&moto.url).await;
    let runs = scratch("push-image");
    let args = ["push-image", "--image", "dummy-agent:v1", "--repository", "lab/agent", "--repository-only"];
    let output = run_with_endpoint(&runs, &moto.url, &args);
    assert!(output.status.success(), "stdout {}\nstderr {}", stdout(&output), stderr(&output));
    let uri = stdout(&output).trim().to_owned();
    assert!(uri.ends_with(".amazonaws.com/lab/agent") && uri.starts_with("123456789012.dkr.ecr.us-east-1"), "{uri}");
    assert!(stderr(&output).contains("created ECR repository lab/agent"), "{}", stderr(&output));

    let ecr = aws_sdk_ecr::Client::new(&sdk);
    let repos = ecr.describe_repositories().repository_names("lab/agent").send().await.unwrap();
    let arn = repos.repositories()[0].repository_arn().unwrap();
    let tags = ecr.list_tags_for_resource().resource_arn(arn).send().await.unwrap();
    let tags: BTreeMap<String, String> =
        tags.tags().iter().map(|t| (t.key().to_owned(), t.value().to_owned())).collect();
    let states: Vec<_> = std::fs::read_dir(&runs).unwrap().map(|e| e.unwrap().path().join("state.json")).collect();
    assert_eq!(states.len(), 1);
    let state = eni_lab::state::RunState::load(&states[0]).unwrap();
    assert_run_tagged("repository", &tags, state.run_id.as_str());
    assert_eq!(state.resources.len(), 1);
    assert_eq!(
        (state.resources[0].kind, state.resources[0].id.as_str()),
        (eni_lab::state::Kind::EcrRepository, "lab/agent")
    );

    // A second push uses the repository as it is: not created, not recorded again.
    let output = run_with_endpoint(&runs, &moto.url, &args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("created ECR repository"), "{}", stderr(&output));
    assert_eq!(std::fs::read_dir(&runs).unwrap().count(), 1);

    // The registry login from moto's authorization token.
    let login = eni_lab::aws::image::registry_login(&ecr).await.unwrap();
    assert_eq!(login.username, "AWS");
    assert!(!login.password.expose().is_empty());
    assert!(login.registry.starts_with("123456789012.dkr.ecr.us-east-1.amazonaws.com"), "{}", login.registry);
    assert!(!format!("{login:?}").contains(login.password.expose()), "the password shows in Debug");
    assert!(!stderr(&output).contains(login.password.expose()) && !stdout(&output).contains(login.password.expose()));
}

#[test]
fn authorization_tokens_decode_or_fail_clearly() {
    use eni_lab::aws::image::decode_authorization;
    let login =
        decode_authorization("QVdTOnNlY3JldDpwYXJ0", "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com").unwrap();
    assert_eq!(login.username, "AWS");
    assert_eq!(login.password.expose(), "secret:part", "only the first colon separates");
    assert_eq!(login.registry, "123456789012.dkr.ecr.eu-west-1.amazonaws.com");
    let error = decode_authorization("not base64!", "https://x").unwrap_err().to_string();
    assert!(error.contains("not base64"), "{error}");
    let error = decode_authorization("bm9jb2xvbg==", "https://x").unwrap_err().to_string(); // "nocolon"
    assert!(error.contains("user:password"), "{error}");
    assert_eq!(eni_lab::aws::image::image_tag("dummy-agent:v1"), "v1");
    assert_eq!(eni_lab::aws::image::image_tag("localhost:5000/dummy-agent"), "latest");
}

/// The push with a stand-in `docker` on PATH that records its arguments and stdin: the password goes
/// to `login --password-stdin`, never on a command line; then tag and push to the repository.
#[tokio::test(flavor = "multi_thread")]
async fn push_image_logs_in_with_the_password_on_stdin_then_tags_and_pushes() {
    use std::os::unix::fs::PermissionsExt;
    let moto = start_moto();
    let runs = scratch("push-image-fake-docker");
    let bin = runs.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = runs.join("docker.log");
    let script = format!(
        "#!/bin/sh\necho \"ARGS $*\" >> '{log}'\nif [ \"$1\" = login ]; then echo \"STDIN $(cat)\" >> '{log}'; fi\n",
        log = log.display()
    );
    std::fs::write(bin.join("docker"), script).unwrap();
    std::fs::set_permissions(bin.join("docker"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let output = eni_lab(&runs)
        .args(["push-image", "--image", "dummy-agent:v2", "--repository", "lab/pushed", "--container-tool", "docker"])
        .args(["--endpoint-url", &moto.url])
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(output.status.success(), "stdout {}\nstderr {}", stdout(&output), stderr(&output));
    let image = stdout(&output).trim().to_owned();
    assert!(image.ends_with(".amazonaws.com/lab/pushed:v2"), "{image}");

    let ecr = aws_sdk_ecr::Client::new(&sdk_config(&moto.url).await);
    let login = eni_lab::aws::image::registry_login(&ecr).await.unwrap();
    let password = login.password.expose();
    let calls = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(lines.len(), 4, "{calls}");
    assert_eq!(lines[0], format!("ARGS login --username AWS --password-stdin {}", login.registry));
    assert_eq!(lines[1], format!("STDIN {password}"));
    assert_eq!(lines[2], format!("ARGS tag dummy-agent:v2 {image}"));
    assert_eq!(lines[3], format!("ARGS push {image}"));
    for line in lines.iter().filter(|l| l.starts_with("ARGS")) {
        assert!(!line.contains(password), "the password on a command line: {line}");
    }
    assert!(!stderr(&output).contains(password) && !stdout(&output).contains(password), "the password in the output");
}
