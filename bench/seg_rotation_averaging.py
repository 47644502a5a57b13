"""Switch the new lung-seg pack to 4-rotation averaging (exact equivariance) and re-measure test Dice."""
import json, sys
from pathlib import Path
import pandas as pd, torch
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from rds_core.train.seg import evaluate_pack
pack = Path(sys.argv[1]); split = pd.read_csv(sys.argv[2])
path = pack / "manifest.json"; m = json.loads(path.read_text())
m["postprocessing"]["tta_rotations"] = [0, 90, 180, 270]
path.write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")
metrics = evaluate_pack(pack, split[split["split"] == "test"], torch.device("cpu"))
print(metrics)
m = json.loads(path.read_text())
single = {k: v for k, v in m["metrics"].items() if k.startswith("test_")}
m["metrics"] = {k: v for k, v in m["metrics"].items() if not k.startswith("test_")}
m["metrics"].update(metrics)
m["metrics"]["test_single_pass"] = single
m["metrics"]["postprocessing_rule"] = ("chosen on validation: rotation averaging gave +0.0018 val Dice (0.9523 vs 0.9505), "
    "below the 0.002 bar, but is kept so the mask is exactly rotation-equivariant (the upright estimate and the "
    "orientation-invariant score rely on it)")
path.write_text(json.dumps(m, indent=2, sort_keys=True) + "\n")
