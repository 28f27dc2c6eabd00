#!/usr/bin/env bash
# Build kelly_rtneural_check against an RTNeural source tree, once per backend (Eigen, RTNeural's default, and STL),
# and report which compile-time kelly models build under Eigen's default stack-object limit.
#
#   bash benchmarks/kelly/rtneural_cpp/build.sh RTNEURAL_SOURCE [BUILD_DIR]
#
# RTNEURAL_SOURCE is a checkout of https://github.com/jatinchowdhury18/RTNeural with its modules/Eigen and
# modules/json (both are in RTNeural's tree; xsimd is a submodule and not needed here).
# Binaries: BUILD_DIR/eigen/kelly_rtneural_check and BUILD_DIR/stl/kelly_rtneural_check.
set -euo pipefail
src=$(cd "${1:?usage: build.sh RTNEURAL_SOURCE [BUILD_DIR]}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
build=${2:-/tmp/kelly-rtneural-build}
mkdir -p "$build"

for backend in eigen stl; do
    flag=-DRTNEURAL_EIGEN=ON
    [ "$backend" = stl ] && flag=-DRTNEURAL_STL=ON
    cmake -S "$here" -B "$build/$backend" -DRTNEURAL_SOURCE="$src" "$flag" > "$build/$backend.configure.log"
    if ! cmake --build "$build/$backend" -j 1 > "$build/$backend.build.log" 2>&1; then
        tail -30 "$build/$backend.build.log"
        exit 1
    fi
    echo "built $build/$backend/kelly_rtneural_check ($backend backend)"
done

# Each compile-time model alone, Eigen backend, Eigen's default EIGEN_STACK_ALLOCATION_LIMIT (128 KiB).
for model in EmotionRecognizer MelodyTransformer HarmonyPredictor DynamicsEngine GroovePredictor; do
    if g++ -std=c++17 -fsyntax-only -DRTNEURAL_USE_EIGEN=1 -DRTNEURAL_DEFAULT_ALIGNMENT=16 \
        -DKELLY_PROBE="$model" -I"$src" -I"$src/modules/Eigen" -I"$src/modules/json" \
        "$here/probe.cpp" > "$build/probe-$model.log" 2>&1; then
        echo "default Eigen stack limit: $model builds"
    else
        # The fixed-size matrices Eigen refuses (a DenseT holds out x (in + 1), an LSTMLayerT 4H x (in + H + 1)).
        too_big=$(grep -o 'PlainObjectBase() \[with Derived = Eigen::Matrix<float, [0-9]*, [0-9]*' \
            "$build/probe-$model.log" | grep -o '[0-9]*, [0-9]*$' | sed 's/, /x/' | sort -u | tr '\n' ' ')
        echo "default Eigen stack limit: $model does not build" \
            "(OBJECT_ALLOCATED_ON_STACK_IS_TOO_BIG: ${too_big:-see $build/probe-$model.log})"
    fi
done
