"""What ``reach`` derives from a model before it looks at a port (the compiled policies, the
classes of pods, the namespaces), cached beside that model.

With the model cache warm, ``reach -o summary`` at 150,000 pods spent most of its time
unpickling every pod (0.6 s of CPU), compiling (0.14 s) and classifying them (0.34 s) to get
15,000 classes. Cached, it reads a pickle of the 15,000 representatives, the policies and the
namespaces, and never the pods.

The entry goes through ``podnet.cli.modelcache`` (same directory, HMAC, atomic writes and
pruning). Its key is the model's key (every input byte, the build options, the model's source)
with the ``--no-ipblock-matches-pods`` choice and a hash of ``podnet/policy``'s source, which
defines what is derived: change either and the entry is another one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from podnet.model.cluster import Cluster
    from podnet.model.objects import Namespace
    from podnet.policy.classes import Classes
    from podnet.policy.compile import Compiled

FORMAT = "podnet-reach-derived-1"
_policy_source: str | None = None


@dataclass(frozen=True)
class Derived:
    compiled: Compiled
    classes: Classes
    namespaces: Mapping[str, Namespace]
    pods: int
    policies: int


def _source() -> str:
    """A hash of podnet/policy's source: it decides what is derived from the model (the
    model's own source is in the model's key already)."""
    global _policy_source
    if _policy_source is None:
        import podnet

        root = Path(podnet.__file__).parent
        h = hashlib.sha256()
        for f in sorted((root / "policy").glob("*.py")):
            data = f.read_bytes()
            h.update(b"%s:%d:" % (f.name.encode(), len(data)) + data)
        _policy_source = h.hexdigest()
    return _policy_source


def _key(model_key: str, ipblock_matches_pods: bool) -> str:
    text = "\0".join((FORMAT, _source(), model_key, repr(ipblock_matches_pods)))
    return hashlib.sha256(text.encode()).hexdigest()


def _build(cluster: Cluster, ipblock_matches_pods: bool) -> Derived:
    from podnet.analysis import Analysis
    from podnet.policy.classes import classify

    compiled = Analysis(cluster, ipblock_matches_pods=ipblock_matches_pods).compiled
    return Derived(compiled, classify(cluster.pods, compiled), cluster.namespaces,
                   len(cluster.pods), len(cluster.policies))


def _dumps(d: Derived) -> bytes:
    from podnet.cli.modelfile import _pickle

    c = d.classes
    # arrays as bytes: the cache's unpickler rebuilds only podnet's own classes
    return _pickle((d.compiled, c.representatives, c.of_pod.astype(np.int64).tobytes(),
                    c.sizes.astype(np.int64).tobytes(), d.namespaces, d.pods, d.policies))


def _loads(data: bytes) -> Derived:
    from podnet.cli.modelfile import _unpickle
    from podnet.policy.classes import Classes

    compiled, reps, of_pod, sizes, namespaces, pods, policies = _unpickle(data)
    classes = Classes(reps, np.frombuffer(of_pod, dtype=np.int64).copy(),
                      np.frombuffer(sizes, dtype=np.int64).copy())
    return Derived(compiled, classes, namespaces, pods, policies)


def derived(cluster: Cluster, model_key: str, ipblock_matches_pods: bool) -> Derived:
    """The compiled policies and classes of ``cluster`` (whose model cache key is
    ``model_key``, "" when the cache is off): from the cache, else computed and stored."""
    from podnet.cli import modelcache

    if not model_key:
        return _build(cluster, ipblock_matches_pods)
    key = _key(model_key, ipblock_matches_pods)
    data = modelcache.get_derived(key)
    if data is not None:
        try:
            return _loads(data)
        except Exception:  # noqa: BLE001,S110 - a bad entry is rebuilt, as a bad model is
            pass
    found = _build(cluster, ipblock_matches_pods)
    modelcache.put_derived(key, _dumps(found))
    return found
