//! Clusters of symbol embeddings: PCA down to a few dimensions (HDBSCAN's cost is n² × d),
//! HDBSCAN there, k-means when HDBSCAN calls most points noise; each cluster labelled by
//! class-based TF-IDF over its members' name terms and given a canonical id.

use std::collections::{BTreeMap, HashMap};

use hdbscan::{Hdbscan, HdbscanHyperParams};
use serde::{Deserialize, Serialize};

use crate::embed::dot;
use crate::hash::stable_id;
use crate::symbols::Symbol;

/// Below this many points there is nothing to group.
pub const MIN_POINTS: usize = 6;
/// When more than this share of the points is still noise after outliers are placed, HDBSCAN's
/// clusters describe too little of the repository and k-means (which places every point) is
/// used instead.
pub const MAX_NOISE_SHARE: f64 = 0.5;
/// The most points HDBSCAN sees: its minimum spanning tree is Prim's over all pairs (n² distance
/// computations), ~0.1 s at 3,000 points in 8 dimensions. Larger sets are clustered on an even
/// sample of this size, and every other point joins the cluster of the nearest centre when it
/// lies within that cluster's own spread.
pub const HDBSCAN_MAX_POINTS: usize = 3_000;
/// HDBSCAN may not select a cluster larger than this fraction of the points (it takes the
/// cluster's children instead): a group holding a fifth of a repository is not one topic.
const MAX_CLUSTER_FRACTION: usize = 5;
/// … but a small repository may well have only two or three topics: the cap never goes below
/// this many symbols.
const SMALLEST_CAP: usize = 50;
/// When one cluster still holds more than this share of the points after outliers are placed,
/// the clustering says nothing and k-means is used instead.
pub const MAX_LARGEST_SHARE: f64 = 0.5;
/// Rounds of subspace iteration for PCA: the top components of code embeddings separate well,
/// and the ordering of points, not the exact components, is what clustering needs.
const PCA_ROUNDS: usize = 5;
const KMEANS_ROUNDS: usize = 50;
/// Terms kept per cluster; the label is made of the first three.
const TOP_TERMS: usize = 5;
const LABEL_TERMS: usize = 3;
/// Name parts that say nothing about a topic.
const STOP_TERMS: &[&str] = &[
    "a", "an", "and", "as", "by", "do", "for", "from", "get", "in", "into", "is", "it", "new",
    "of", "on", "or", "self", "set", "the", "to", "with", "fn", "func", "init", "mod", "main",
    "crate", "impl", "src", "lib", "index",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterMethod {
    Hdbscan,
    Kmeans,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cluster {
    /// Derived from the sorted member ids: the same members give the same id.
    pub id: String,
    pub label: String,
    /// Symbol ids, sorted.
    pub members: Vec<String>,
    pub top_terms: Vec<String>,
}

/// Deterministic pseudo-random numbers (SplitMix64): the same seed, the same sequence, on
/// every host.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The points projected on their top `k` principal components (subspace iteration from a
/// seeded start); points already in `k` dimensions or fewer come back as they are.
pub fn reduce_dimensions(points: &[&[f32]], k: usize, seed: u64) -> Vec<Vec<f32>> {
    let Some(d) = points.first().map(|p| p.len()) else {
        return Vec::new();
    };
    if d <= k || points.len() <= k {
        return points.iter().map(|p| p.to_vec()).collect();
    }
    let n = points.len();
    let mut mean = vec![0f32; d];
    for p in points {
        mean.iter_mut().zip(*p).for_each(|(m, x)| *m += x);
    }
    mean.iter_mut().for_each(|m| *m /= n as f32);
    let centered: Vec<f32> = points
        .iter()
        .flat_map(|p| p.iter().zip(&mean).map(|(x, m)| x - m))
        .collect();
    let mut rng = SplitMix(seed);
    // Basis vectors, k of them, each of length d.
    let mut basis: Vec<Vec<f32>> = (0..k)
        .map(|_| (0..d).map(|_| rng.unit() as f32 - 0.5).collect())
        .collect();
    orthonormalize(&mut basis);
    let mut projected = vec![0f32; n * k];
    for _ in 0..PCA_ROUNDS {
        project(&centered, d, &basis, &mut projected);
        // basis ← Xᵀ (X basis), one pass over the rows (the basis stays in cache).
        basis
            .iter_mut()
            .for_each(|b| b.iter_mut().for_each(|x| *x = 0.0));
        for (i, row) in centered.chunks(d).enumerate() {
            for (j, b) in basis.iter_mut().enumerate() {
                let weight = projected[i * k + j];
                b.iter_mut().zip(row).for_each(|(x, r)| *x += weight * r);
            }
        }
        orthonormalize(&mut basis);
    }
    project(&centered, d, &basis, &mut projected);
    projected.chunks(k).map(<[f32]>::to_vec).collect()
}

fn project(centered: &[f32], d: usize, basis: &[Vec<f32>], out: &mut [f32]) {
    let k = basis.len();
    for (i, row) in centered.chunks(d).enumerate() {
        for (j, b) in basis.iter().enumerate() {
            out[i * k + j] = dot(row, b);
        }
    }
}

/// Modified Gram–Schmidt; a vector that collapses is left at zero.
fn orthonormalize(basis: &mut [Vec<f32>]) {
    for j in 0..basis.len() {
        let (done, rest) = basis.split_at_mut(j);
        let v = &mut rest[0];
        for u in done.iter() {
            let along = dot(v, u);
            v.iter_mut().zip(u).for_each(|(a, b)| *a -= along * b);
        }
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            v.iter_mut().for_each(|x| *x /= norm);
        }
    }
}

/// The smallest group HDBSCAN may call a cluster: a fiftieth of the points, at least 3 (a
/// pair is a coincidence) and at most 25 (larger repositories still get topics, not halves).
pub fn min_cluster_size(points: usize) -> usize {
    (points / 50).clamp(3, 25)
}

/// Cluster assignment per point (`None` for noise), and the method that made it; `None` when
/// there are too few points.
pub fn cluster_vectors(
    points: &[Vec<f32>],
    seed: u64,
) -> (Option<ClusterMethod>, Vec<Option<usize>>) {
    let n = points.len();
    if n < MIN_POINTS {
        return (None, vec![None; n]);
    }
    if let Some(assignment) = hdbscan_sampled(points) {
        return (Some(ClusterMethod::Hdbscan), assignment);
    }
    let k = ((n as f64 / 2.0).sqrt().round() as usize).clamp(2, 64);
    let assignment = kmeans(points, k, seed).into_iter().map(Some).collect();
    (Some(ClusterMethod::Kmeans), assignment)
}

/// HDBSCAN over at most [`HDBSCAN_MAX_POINTS`] points (an even stride through them); then
/// every point it did not place (outside the sample, or noise) joins the cluster of the nearest
/// centre when it lies within that cluster's own spread, as BERTopic reduces outliers. `None`
/// when the result does not describe the repository: nothing found, most points still noise,
/// or one cluster holding most of them.
fn hdbscan_sampled(points: &[Vec<f32>]) -> Option<Vec<Option<usize>>> {
    let n = points.len();
    let stride = n.div_ceil(HDBSCAN_MAX_POINTS);
    let sample: Vec<Vec<f32>> = points.iter().step_by(stride).cloned().collect();
    let size = min_cluster_size(n).min(sample.len() / 2).max(3);
    let params = HdbscanHyperParams::builder()
        .min_cluster_size(size)
        .min_samples(size.min(5))
        .max_cluster_size((sample.len() / MAX_CLUSTER_FRACTION).max(SMALLEST_CAP))
        .build();
    let labels = Hdbscan::new(&sample, params).cluster().ok()?;
    let clusters = labels
        .iter()
        .filter_map(|&l| usize::try_from(l).ok())
        .max()?
        + 1;
    let mut assignment: Vec<Option<usize>> = vec![None; n];
    for (s, label) in labels.iter().enumerate() {
        assignment[s * stride] = usize::try_from(*label).ok();
    }
    // Centres and spreads (the farthest member's distance) of the clusters found.
    let d = points[0].len();
    let mut centres = vec![vec![0f32; d]; clusters];
    let mut sizes = vec![0usize; clusters];
    for (s, label) in labels.iter().enumerate() {
        if let Ok(c) = usize::try_from(*label) {
            centres[c]
                .iter_mut()
                .zip(&sample[s])
                .for_each(|(a, b)| *a += b);
            sizes[c] += 1;
        }
    }
    for (centre, size) in centres.iter_mut().zip(&sizes) {
        centre.iter_mut().for_each(|x| *x /= (*size).max(1) as f32);
    }
    let mut spread = vec![0f32; clusters];
    for (s, label) in labels.iter().enumerate() {
        if let Ok(c) = usize::try_from(*label) {
            spread[c] = spread[c].max(squared(&sample[s], &centres[c]));
        }
    }
    for (i, point) in points.iter().enumerate() {
        if assignment[i].is_some() {
            continue;
        }
        let (best, distance) = (0..clusters)
            .map(|c| (c, squared(point, &centres[c])))
            .min_by(|a, b| a.1.total_cmp(&b.1))?;
        assignment[i] = (distance <= spread[best]).then_some(best);
    }
    let mut counts = vec![0usize; clusters];
    assignment.iter().flatten().for_each(|&c| counts[c] += 1);
    let noise = n - counts.iter().sum::<usize>();
    let largest = counts.iter().copied().max().unwrap_or(0);
    let share = |k: usize| k as f64 / n as f64;
    (share(noise) <= MAX_NOISE_SHARE && share(largest) <= MAX_LARGEST_SHARE).then_some(assignment)
}

fn squared(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Lloyd's k-means from a k-means++ start drawn with the seed.
fn kmeans(points: &[Vec<f32>], k: usize, seed: u64) -> Vec<usize> {
    let n = points.len();
    let dist = |a: &[f32], b: &[f32]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| f64::from(x - y) * f64::from(x - y))
            .sum()
    };
    let mut rng = SplitMix(seed);
    let mut centres: Vec<Vec<f32>> = vec![points[(rng.next() % n as u64) as usize].clone()];
    let mut nearest: Vec<f64> = points.iter().map(|p| dist(p, &centres[0])).collect();
    while centres.len() < k {
        let total: f64 = nearest.iter().sum();
        if total <= 0.0 {
            break;
        }
        let mut pick = rng.unit() * total;
        let mut chosen = n - 1;
        for (i, d) in nearest.iter().enumerate() {
            if pick < *d {
                chosen = i;
                break;
            }
            pick -= d;
        }
        centres.push(points[chosen].clone());
        let c = centres.last().expect("just pushed");
        for (i, p) in points.iter().enumerate() {
            nearest[i] = nearest[i].min(dist(p, c));
        }
    }
    let mut assignment = vec![usize::MAX; n];
    for _ in 0..KMEANS_ROUNDS {
        let mut changed = false;
        for (i, p) in points.iter().enumerate() {
            let best = (0..centres.len())
                .min_by(|&a, &b| dist(p, &centres[a]).total_cmp(&dist(p, &centres[b])))
                .unwrap_or(0);
            changed |= assignment[i] != best;
            assignment[i] = best;
        }
        if !changed {
            break;
        }
        for (c, centre) in centres.iter_mut().enumerate() {
            let members: Vec<&Vec<f32>> = points
                .iter()
                .zip(&assignment)
                .filter(|(_, &a)| a == c)
                .map(|(p, _)| p)
                .collect();
            if members.is_empty() {
                continue;
            }
            centre.iter_mut().enumerate().for_each(|(j, x)| {
                *x = members.iter().map(|m| m[j]).sum::<f32>() / members.len() as f32;
            });
        }
    }
    assignment
}

/// Clusters with canonical ids and labels, largest first (then by id); fills `cluster_of`
/// (per symbol) with each symbol's index in the result.
pub(super) fn build_clusters(
    symbols: &[Symbol],
    clustered: &[usize],
    assignment: &[Option<usize>],
    cluster_of: &mut [Option<usize>],
) -> Vec<Cluster> {
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (p, c) in assignment.iter().enumerate() {
        if let Some(c) = c {
            groups.entry(*c).or_default().push(clustered[p]);
        }
    }
    let groups: Vec<Vec<usize>> = groups.into_values().collect();
    let terms: Vec<Vec<String>> = groups
        .iter()
        .map(|members| {
            members
                .iter()
                .flat_map(|&i| symbol_terms(&symbols[i]))
                .collect()
        })
        .collect();
    let top = class_tf_idf(&terms);
    let mut clusters: Vec<(Cluster, Vec<usize>)> = groups
        .into_iter()
        .zip(top)
        .map(|(members, top_terms)| {
            let mut ids: Vec<String> = members.iter().map(|&i| symbols[i].id.clone()).collect();
            ids.sort();
            let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let label = if top_terms.is_empty() {
                "misc".to_owned()
            } else {
                top_terms[..top_terms.len().min(LABEL_TERMS)].join(" · ")
            };
            let cluster = Cluster {
                id: stable_id(&id_refs),
                label,
                members: ids,
                top_terms,
            };
            (cluster, members)
        })
        .collect();
    clusters.sort_by(|(a, _), (b, _)| b.members.len().cmp(&a.members.len()).then(a.id.cmp(&b.id)));
    for (index, (_, members)) in clusters.iter().enumerate() {
        for &i in members {
            cluster_of[i] = Some(index);
        }
    }
    clusters.into_iter().map(|(c, _)| c).collect()
}

/// A symbol's topic terms: the words of its name and of its owner's (`LruCache::evict` →
/// lru, cache, evict).
fn symbol_terms(symbol: &Symbol) -> Vec<String> {
    let sep = symbol.language.spec().separator;
    let owner = symbol
        .qualified_name
        .strip_suffix(symbol.name.as_str())
        .and_then(|q| q.strip_suffix(sep))
        .and_then(|q| q.rsplit(sep).next())
        .unwrap_or("");
    let mut terms = split_words(&symbol.name);
    terms.extend(split_words(owner));
    terms
}

/// `parseHTTPRequest_v2` → parse, http, request, v2 (lower-case, stop terms dropped).
pub fn split_words(identifier: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = identifier.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            words.push(std::mem::take(&mut current));
            continue;
        }
        let boundary = c.is_uppercase()
            && i > 0
            && (chars[i - 1].is_lowercase()
                || chars.get(i + 1).is_some_and(|n| n.is_lowercase())
                    && chars[i - 1].is_uppercase());
        if boundary {
            words.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
    }
    words.push(current);
    words
        .into_iter()
        .filter(|w| w.len() > 1 && !STOP_TERMS.contains(&w.as_str()))
        .collect()
}

/// Class-based TF-IDF (as BERTopic labels topics): a term's share of a cluster's terms, times
/// log(1 + average terms per cluster / the term's count over all clusters). The top terms per
/// cluster, best first, ties by term.
fn class_tf_idf(clusters: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut total: HashMap<&str, usize> = HashMap::new();
    for terms in clusters {
        for t in terms {
            *total.entry(t.as_str()).or_default() += 1;
        }
    }
    let average =
        clusters.iter().map(Vec::len).sum::<usize>() as f64 / clusters.len().max(1) as f64;
    clusters
        .iter()
        .map(|terms| {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for t in terms {
                *counts.entry(t.as_str()).or_default() += 1;
            }
            let mut scored: Vec<(f64, &str)> = counts
                .iter()
                .map(|(t, c)| {
                    let tf = *c as f64 / terms.len() as f64;
                    (tf * (1.0 + average / total[t] as f64).ln(), *t)
                })
                .collect();
            scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
            scored
                .into_iter()
                .take(TOP_TERMS)
                .map(|(_, t)| t.to_owned())
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_on_case_and_underscores() {
        assert_eq!(
            split_words("parseHTTPRequest_v2"),
            ["parse", "http", "request", "v2"]
        );
        assert_eq!(split_words("LruCache"), ["lru", "cache"]);
        assert_eq!(split_words("new"), Vec::<String>::new());
    }

    #[test]
    fn pca_keeps_the_direction_of_spread() {
        // Points spread along (1, 1, 0, 0) with a little noise elsewhere.
        let raw: Vec<Vec<f32>> = (0..40)
            .map(|i| {
                let t = i as f32 / 10.0;
                vec![t, t, 0.01 * (i % 3) as f32, 0.01 * (i % 5) as f32]
            })
            .collect();
        let points: Vec<&[f32]> = raw.iter().map(Vec::as_slice).collect();
        let reduced = reduce_dimensions(&points, 1, 7);
        let spread = |i: usize| reduced[i][0];
        assert!((spread(39) - spread(0)).abs() > 5.0, "{reduced:?}");
        assert_eq!(reduce_dimensions(&points, 1, 7), reduced);
    }

    #[test]
    fn separated_groups_are_found_by_both_methods() {
        let mut points = Vec::new();
        for g in 0..3 {
            for i in 0..10 {
                points.push(vec![
                    g as f32 * 10.0 + (i % 3) as f32 * 0.1,
                    (i % 4) as f32 * 0.1,
                ]);
            }
        }
        let (method, assignment) = cluster_vectors(&points, 1);
        assert_eq!(method, Some(ClusterMethod::Hdbscan));
        for g in 0..3 {
            let first = assignment[g * 10];
            assert!(first.is_some());
            assert!(assignment[g * 10..g * 10 + 10].iter().all(|a| *a == first));
        }
        let k = kmeans(&points, 3, 1);
        for g in 0..3 {
            assert!(k[g * 10..g * 10 + 10].iter().all(|a| *a == k[g * 10]));
        }
        assert_ne!(k[0], k[10]);
        assert_ne!(k[10], k[20]);
    }
}
