#!/bin/sh
# Makes a Debian sid root with current PyTorch for training/export_zoo.py's dynamo exports.
#
#   sh training/setup_sid_root.sh [ROOT]        (as root; ROOT defaults to /work/sid-root)
#
# Debian packages only: python3-torch, python3-torchvision, python3-onnx and python3-onnxruntime
# from sid, python3-onnxscript (0.2.0) from experimental. torch 2.14's dynamo exporter expects
# a newer onnxscript and the separate onnx_ir package, which Debian does not ship, so this script
# adds small compatibility shims inside ROOT (never on the host): an onnx_ir module that
# re-exports onnxscript.ir, the torch_2_11 API module, opset23/24 objects, two Python 3.14 fixes
# and the cudnn_enable argument of aten_layer_norm. Running it again is harmless.
set -eu
ROOT=${1:-/work/sid-root}
MIRROR=http://deb.debian.org/debian
APT="apt-get -o Acquire::Check-Valid-Until=false"

if [ ! -x "$ROOT/usr/bin/apt-get" ]; then
    command -v debootstrap >/dev/null || apt-get install -y debootstrap
    debootstrap --variant=minbase sid "$ROOT" "$MIRROR"
fi
echo "deb $MIRROR experimental main" > "$ROOT/etc/apt/sources.list.d/experimental.list"
chroot "$ROOT" $APT update
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive $APT install -y --no-install-recommends \
    python3-torch python3-torchvision python3-onnx python3-onnxruntime python3-numpy
chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive $APT install -y --no-install-recommends \
    -t experimental python3-onnxscript

SITE="$ROOT/usr/lib/python3/dist-packages"
OS="$SITE/onnxscript"
LOCAL="$ROOT$(chroot "$ROOT" python3 -c 'import sys; print(f"/usr/local/lib/python3.{sys.version_info[1]}/dist-packages")')"

cat > "$OS/_framework_apis/torch_2_11.py" <<'EOF'
"""Local shim: torch 2.14 asks for the torch_2_11 APIs, Debian ships onnxscript 0.2.0.

As in later onnxscript releases, the version conversion is unconditional."""
from onnxscript import ir, version_converter
from onnxscript._framework_apis.torch_2_6 import (  # noqa: F401
    check_model,
    get_torchlib_ops,
    optimize,
    save_model_with_external_data,
    torchlib_opset,
)


def convert_version(model: ir.Model, target_version: int) -> ir.Model:
    version_converter.convert_version(model, target_version)
    # onnxscript 0.2.0 upgrades the nodes but leaves the model's opset import as it was.
    if model.opset_imports.get("", target_version) < target_version:
        model.opset_imports[""] = target_version
        model.graph.opset_imports[""] = target_version
    return model
EOF

mkdir -p "$LOCAL/onnx_ir"
cat > "$LOCAL/onnx_ir/__init__.py" <<'EOF'
"""Local shim: onnx_ir was split out of onnxscript.ir after onnxscript 0.2.0 (Debian's)."""
import importlib
import sys

import onnxscript.ir as _ir
from onnxscript.ir import *  # noqa: F401,F403
from onnxscript.ir import __all__  # noqa: F401

for _sub in ("convenience", "serde", "traversal", "passes", "passes.common", "tensor_adapters",
             "external_data", "_schemas", "_core", "_enums", "_protocols", "_convenience", "_tape"):
    try:
        sys.modules[f"{__name__}.{_sub}"] = importlib.import_module(f"onnxscript.ir.{_sub}")
    except ImportError:
        pass
convenience = _ir.convenience
serde = _ir.serde
traversal = _ir.traversal
passes = _ir.passes
from onnx_ir import schemas  # noqa: E402
EOF
cat > "$LOCAL/onnx_ir/schemas.py" <<'EOF'
"""Local shim over onnxscript 0.2.0's ir._schemas with the fields newer onnx_ir has."""
import dataclasses

from onnxscript.ir._schemas import *  # noqa: F401,F403
from onnxscript.ir._schemas import AttributeParameter, Parameter, TypeConstraintParam  # noqa: F401
from onnxscript.ir._schemas import OpSignature as _OpSignature


@dataclasses.dataclass
class OpSignature(_OpSignature):
    since_version: int = 1
EOF

if ! grep -q "class Opset23" "$OS/onnx_opset/__init__.py"; then
    cat >> "$OS/onnx_opset/__init__.py" <<'EOF'


# Local shim (not in Debian's onnxscript 0.2.0): torch 2.14 imports opset23 and opset24.
# Ops without a generated method are resolved from the onnx schema registry at that version.
class Opset23(Opset22):
    def __new__(cls):
        return Opset.__new__(cls, "", 23)


class Opset24(Opset23):
    def __new__(cls):
        return Opset.__new__(cls, "", 24)


opset23 = Opset23()
opset24 = Opset24()
all_opsets[("", 23)] = opset23
all_opsets[("", 24)] = opset24
EOF
fi

# Python 3.14 removed ast.Num / ast.Str / ast.NameConstant and made Optional[...] a typing.Union.
sed -i 's/ast\.NameConstant\b/ast.Constant/; s/ast\.Num,/ast.Constant,/; s/ast\.Str,/ast.Constant,/g' \
    "$OS/converter.py"
sed -i 's/        if not isinstance(typeinfo, (type, _GenericAlias)):/        if not isinstance(typeinfo, (type, _GenericAlias, typing.Union if hasattr(typing, "Union") and isinstance(typing.Union, type) else type)):/' \
    "$OS/values.py"

# torch 2.14 passes cudnn_enable to aten_layer_norm.
chroot "$ROOT" python3 - <<'EOF'
p = "/usr/lib/python3/dist-packages/onnxscript/function_libs/torch_lib/ops/core.py"
s = open(p).read()
old = "def aten_layer_norm(\n    input: TReal,\n    normalized_shape: INT64,\n    weight: Optional[TReal] = None,\n    bias: Optional[TReal] = None,\n    eps: float = 1e-05,\n) -> TReal:"
if old in s:
    s = s.replace(old, old.replace("1e-05,\n", "1e-05,\n    cudnn_enable: bool = True,\n"), 1)
    open(p, "w").write(s)
EOF

chroot "$ROOT" python3 -c "import torch, onnx, onnxruntime, onnxscript, torchvision; print('torch', torch.__version__, 'onnx', onnx.__version__, 'onnxruntime', onnxruntime.__version__, 'onnxscript', onnxscript.__version__, 'torchvision', torchvision.__version__)"
