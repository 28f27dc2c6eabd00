// The five kelly models as compile-time RTNeural models: one type per exported JSON, its layers in file order
// (a dense layer's "activation" is the activation layer after it; LSTM layers carry none).
#pragma once

#include <RTNeural/RTNeural.h>

namespace kelly
{
using EmotionRecognizer = RTNeural::ModelT<float, 128, 64,
    RTNeural::DenseT<float, 128, 512>, RTNeural::TanhActivationT<float, 512>,
    RTNeural::DenseT<float, 512, 256>, RTNeural::TanhActivationT<float, 256>,
    RTNeural::LSTMLayerT<float, 256, 128>,
    RTNeural::DenseT<float, 128, 64>, RTNeural::TanhActivationT<float, 64>>;

using MelodyTransformer = RTNeural::ModelT<float, 64, 128,
    RTNeural::DenseT<float, 64, 256>, RTNeural::ReLuActivationT<float, 256>,
    RTNeural::LSTMLayerT<float, 256, 256>,
    RTNeural::DenseT<float, 256, 256>, RTNeural::ReLuActivationT<float, 256>,
    RTNeural::DenseT<float, 256, 128>, RTNeural::SigmoidActivationT<float, 128>>;

using HarmonyPredictor = RTNeural::ModelT<float, 128, 64,
    RTNeural::DenseT<float, 128, 256>, RTNeural::TanhActivationT<float, 256>,
    RTNeural::DenseT<float, 256, 128>, RTNeural::TanhActivationT<float, 128>,
    RTNeural::DenseT<float, 128, 64>, RTNeural::SoftmaxActivationT<float, 64>>;

using DynamicsEngine = RTNeural::ModelT<float, 32, 16,
    RTNeural::DenseT<float, 32, 128>, RTNeural::ReLuActivationT<float, 128>,
    RTNeural::DenseT<float, 128, 64>, RTNeural::ReLuActivationT<float, 64>,
    RTNeural::DenseT<float, 64, 16>, RTNeural::SigmoidActivationT<float, 16>>;

using GroovePredictor = RTNeural::ModelT<float, 64, 32,
    RTNeural::DenseT<float, 64, 128>, RTNeural::TanhActivationT<float, 128>,
    RTNeural::DenseT<float, 128, 64>, RTNeural::TanhActivationT<float, 64>,
    RTNeural::DenseT<float, 64, 32>, RTNeural::TanhActivationT<float, 32>>;
} // namespace kelly
