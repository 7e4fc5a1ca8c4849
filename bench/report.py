"""Turn a bench run (runner JSONs + floors) into the printed tables, ratios and the issue-7 target verdicts."""

import json
from pathlib import Path

import floors as floor_model

ROOT = Path(__file__).resolve().parents[1]
MLX_PEERS = ("mlx-audio", "mlx-qwen3-asr")
STAGES = ("mel", "encoder", "prefill", "decode")


def derived(result: dict) -> dict:
    """Per-run figures: ms/token and tokens/s over the decode steps (tokens 2..N), RTF of the warm pipeline."""
    steps = max(len(result["tokens"]) - 1, 1)
    decode = result["stages_s"]["decode"]
    return {"ms_per_token": 1e3 * decode / steps, "tokens_per_s": steps / decode,
            "rtf": result["total_s"] / result["audio_seconds"],
            "encoder_prefill_s": result["stages_s"]["encoder"] + result["stages_s"]["prefill"]}


def _fmt(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def stage_table(clip: str, results: dict) -> list:
    lines = [f"### {clip} clip ({_audio_seconds(results):.1f} s audio)", "",
             "| implementation | load s | cold s | mel s | encoder s | prefill s | decode s | ms/token | e2e s "
             "| RTF | tok/s | MLX peak MB | RSS peak MB | tokens = ours |",
             "|---|" + "---|" * 13]
    ours = results.get("ours")
    for name, r in results.items():
        if not r.get("ok"):
            lines.append(f"| {name} | FAILED: {r.get('error', 'no result')[:150]} |" + " |" * 13)
            continue
        d, s, m = derived(r), r["stages_s"], r["memory_mb"]
        agree = "-"
        if ours and ours.get("ok"):
            same = sum(a == b for a, b in zip(r["tokens"], ours["tokens"]))
            agree = f"{same}/{len(ours['tokens'])}"
        lines.append(f"| {name} | {_fmt(r['load_s'], 1)} | {_fmt(r['cold_s'], 1)} | {_fmt(s['mel'], 3)} "
                     f"| {_fmt(s['encoder'])} | {_fmt(s['prefill'])} | {_fmt(s['decode'])} "
                     f"| {_fmt(d['ms_per_token'], 0)} | {_fmt(r['total_s'])} | {_fmt(d['rtf'], 3)} "
                     f"| {_fmt(d['tokens_per_s'])} | {_fmt(m.get('mlx_peak'), 0)} | {_fmt(m['rss_peak'], 0)} "
                     f"| {agree} |")
    return lines


def ratio_table(clip: str, results: dict) -> list:
    ours = results.get("ours")
    if not ours or not ours.get("ok"):
        return [f"(no ours/peer ratios for {clip}: ours did not run)"]
    lines = [f"ours / peer, {clip} (below 1 = ours faster)", "",
             "| peer | load | cold | mel | encoder | prefill | decode | e2e | RSS peak |", "|---|" + "---|" * 8]
    for name, r in results.items():
        if name == "ours" or not r.get("ok"):
            continue
        cells = [ours["load_s"] / r["load_s"], ours["cold_s"] / r["cold_s"]]
        cells += [ours["stages_s"][k] / r["stages_s"][k] for k in STAGES]
        cells += [ours["total_s"] / r["total_s"], ours["memory_mb"]["rss_peak"] / r["memory_mb"]["rss_peak"]]
        lines.append(f"| {name} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    return lines


def floor_rows(clip: str, ours: dict, config: dict, machine: dict) -> dict:
    frames = int(round(ours["audio_seconds"] * 100))
    floors = floor_model.model_floors(config, machine, frames, ours["prompt_tokens"], len(ours["tokens"]))
    d = derived(ours)
    floors["ours_encoder_prefill_s"] = d["encoder_prefill_s"]
    floors["ours_ms_per_token"] = d["ms_per_token"]
    floors["encoder_prefill_ratio"] = d["encoder_prefill_s"] / floors["encoder_prefill_floor_s"]
    floors["decode_ratio"] = d["ms_per_token"] / floors["decode_floor_ms_per_token"]
    return floors


def floor_table(per_clip: dict) -> list:
    lines = ["| clip | encoder+prefill GFLOP | floor s | ours s | ours/floor | decode GB/token | floor ms/token "
             "| ours ms/token | ours/floor |", "|---|" + "---|" * 8]
    for clip, f in per_clip.items():
        lines.append(f"| {clip} | {f['encoder_prefill_gflop']:.0f} | {f['encoder_prefill_floor_s']:.2f} "
                     f"| {f['ours_encoder_prefill_s']:.2f} | {f['encoder_prefill_ratio']:.2f} "
                     f"| {f['decode_gb_per_token']:.2f} | {f['decode_floor_ms_per_token']:.0f} "
                     f"| {f['ours_ms_per_token']:.0f} | {f['decode_ratio']:.2f} |")
    return lines


def targets(results: dict, floors: dict) -> list:
    """Issue 7 targets on the 30 s clip; each line says met / NOT met with the numbers."""
    ours = results.get("ours")
    if not ours or not ours.get("ok") or floors is None:
        return ["targets: not evaluated (ours did not run on the 30 s clip)"]
    verdict = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    lines = []
    mlx = {n: r["total_s"] for n, r in results.items() if n in MLX_PEERS and r.get("ok")}
    if mlx:
        fastest = min(mlx, key=mlx.get)
        speedup = mlx[fastest] / ours["total_s"]
        lines.append(f"- e2e >= 1.5x faster than the fastest MLX peer ({fastest}, {mlx[fastest]:.2f} s): "
                     f"ours {ours['total_s']:.2f} s = {speedup:.2f}x -> {verdict(speedup >= 1.5)}")
    else:
        lines.append("- e2e vs MLX peers: no MLX peer ran -> not evaluated")
    official = results.get("official-fp32")
    if official and official.get("ok"):
        speedup = official["total_s"] / ours["total_s"]
        lines.append(f"- faster than official PyTorch float32 ({official['total_s']:.2f} s): "
                     f"{speedup:.2f}x -> {verdict(speedup > 1.0)}")
    else:
        lines.append("- vs official PyTorch float32: it did not run -> not evaluated")
    lines.append(f"- decode within 1.2x of the bandwidth floor: {floors['ours_ms_per_token']:.0f} ms/token vs floor "
                 f"{floors['decode_floor_ms_per_token']:.0f} = {floors['decode_ratio']:.2f}x "
                 f"-> {verdict(floors['decode_ratio'] <= 1.2)}")
    lines.append(f"- encoder + prefill within 1.5x of the GEMM floor: {floors['ours_encoder_prefill_s']:.2f} s vs "
                 f"floor {floors['encoder_prefill_floor_s']:.2f} s = {floors['encoder_prefill_ratio']:.2f}x "
                 f"-> {verdict(floors['encoder_prefill_ratio'] <= 1.5)}")
    return lines


def machine_lines(machine: dict) -> list:
    return [f"- memory bandwidth: copy {machine['copy_numpy_gbs']:.1f} GB/s (numpy memcpy, read+write), "
            f"{machine['copy_mlx_gbs']:.1f} GB/s (MLX elementwise); GEMV fp32 {machine['gemv_numpy_gbs']:.1f} GB/s "
            f"(numpy), {machine['gemv_mlx_gbs']:.1f} GB/s (MLX); floor uses the best: "
            f"{machine['bandwidth_gbs']:.1f} GB/s",
            f"- float32 GEMM: best {machine['gemm_fp32_gflops']:.1f} GFLOP/s ("
            + ", ".join(f"{k} {v:.0f}" for k, v in machine["gemm_fp32_gflops_by_run"].items()) + ")"]


def _audio_seconds(results: dict) -> float:
    return next((r["audio_seconds"] for r in results.values() if "audio_seconds" in r), 0.0)


def best_of(a: dict, b: dict) -> dict:
    """Machine floors from two measurements: the better value of each."""
    merged = {k: max(a[k], b[k]) if isinstance(a[k], float) else a[k] for k in a}
    merged["gemm_fp32_gflops_by_run"] = {k: max(v, b["gemm_fp32_gflops_by_run"].get(k, v))
                                         for k, v in a["gemm_fp32_gflops_by_run"].items()}
    return merged


def merge(records: list) -> dict:
    """Several runs' records as one: per clip and implementation the later run wins; floors: the best measured."""
    merged = dict(records[0], results={}, floors={}, clips={}, stamps=[], load_average=[], install_errors={})
    for record in records:
        merged["machine"] = best_of(merged["machine"], record["machine"])
        for key in ("floors", "clips", "install_errors"):
            merged[key].update(record[key])
        for clip, per_impl in record["results"].items():
            for name, result in per_impl.items():
                merged["results"].setdefault(clip, {})[name] = dict(result, run=record["stamps"][0])
        merged["stamps"] += record["stamps"]
        merged["load_average"] += record["load_average"]
        if record["checkpoint"] not in merged["checkpoint"].split(" and "):
            merged["checkpoint"] += " and " + record["checkpoint"]
    config = json.loads((ROOT / records[0]["checkpoint"] / "config.json").read_text())
    merged["floors"] = {c: floor_rows(c, r["ours"], config, merged["machine"])
                        for c, r in merged["results"].items() if r.get("ours", {}).get("ok")}
    return merged


def render(record: dict) -> str:
    """The Markdown report of one run (or of merged runs)."""
    results, floors, machine = record["results"], record["floors"], record["machine"]
    loads = "; ".join(f"{a:.1f} -> {b:.1f}" for a, b in record["load_average"])
    warm = {r.get("warm_runs") for per in results.values() for r in per.values() if r.get("ok")}
    lines = [f"## mlx-asr benchmark, run {', '.join(record['stamps'])}", "",
             f"Machine: {record['platform']}; 1-min load average before -> after each run: {loads}. "
             f"Checkpoint: random-weight 0.6B, same recipe ({record['checkpoint']}), float32 unless named; "
             f"{record['args']['tokens']} forced tokens; warm runs per stage figure: {sorted(warm)} "
             "(minimum kept; 0 = the cold run's stages).", ""]
    for clip_name, per_impl in results.items():
        lines += stage_table(clip_name, per_impl) + [""] + ratio_table(clip_name, per_impl) + [""]
    lines += ["### Floors measured in the same run", ""] + machine_lines(machine) + [""]
    if floors:
        lines += floor_table(floors) + [""]
        weights_only = next(iter(floors.values()))["decode_weights_only_floor_ms_by_dtype"]
        lines += ["Decode floor, weights only (decoder layers + tied output head), ms/token by dtype: "
                  + ", ".join(f"{k} {v:.0f}" for k, v in weights_only.items()), ""]
    lines += ["### Issue 7 targets (30 s clip)", ""]
    lines += targets(results.get("30s", {}), floors.get("30s"))
    return "\n".join(lines)
