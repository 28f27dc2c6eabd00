// Loads the five kelly RTNeural JSON files with RTNeural itself, in both forms (the dynamic
// RTNeural::json_parser::parseJson<float> and the compile-time kelly::<Model>::parseJson), runs the input vectors
// of an inputs file and prints every output, for rtneural_check.py to compare with the NumPy runner and PyTorch.
//
//   kelly_rtneural_check JSON_DIR INPUTS_TXT [TIMED_CALLS]
//
// INPUTS_TXT holds blocks "<ModelName> <file stem> <vectors> <input size>" followed by the vectors' values.
// Each block is run twice per form: "reset" (LSTM state back to zero before every vector, as the models were
// trained and as `mlrun kelly pipeline` runs them) and "stream" (reset once, state carried from vector to vector).
// Output lines: "<dynamic|static> <reset|stream> <ModelName> <vector index> <values...>".
// With TIMED_CALLS, the five static models run as the pipeline wires them on the first EmotionRecognizer vector,
// and the per-call time's median and 99th percentile are printed on a "# timing" line.

#include "kelly_models.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace
{
struct Block
{
    std::string name;
    std::string stem;
    int in_size = 0;
    std::vector<std::vector<float>> vectors;
};

std::vector<Block> readInputs(const std::string& path)
{
    std::ifstream in(path);
    if(!in)
        throw std::runtime_error(path + ": cannot open");
    std::vector<Block> blocks;
    Block b;
    int count = 0;
    while(in >> b.name >> b.stem >> count >> b.in_size)
    {
        b.vectors.assign(count, std::vector<float>(b.in_size));
        for(auto& v : b.vectors)
            for(auto& x : v)
                if(!(in >> x))
                    throw std::runtime_error(path + ": truncated block " + b.name);
        blocks.push_back(b);
    }
    return blocks;
}

// Eigen's ModelT::forward maps its input as an aligned vector: inputs must sit on RTNEURAL_DEFAULT_ALIGNMENT.
alignas(RTNEURAL_DEFAULT_ALIGNMENT) float aligned_input[512];

void printRow(const char* form, const char* mode, const Block& b, size_t idx, const float* out, int out_size)
{
    std::printf("%s %s %s %zu", form, mode, b.name.c_str(), idx);
    for(int i = 0; i < out_size; ++i)
        std::printf(" %.9g", out[i]);
    std::printf("\n");
}

template <typename Net>
void runBlock(Net& net, const Block& b, const char* form, int out_size)
{
    for(const char* mode : { "reset", "stream" })
    {
        const bool reset_each = std::string(mode) == "reset";
        net.reset();
        for(size_t i = 0; i < b.vectors.size(); ++i)
        {
            if(reset_each)
                net.reset();
            std::copy(b.vectors[i].begin(), b.vectors[i].end(), aligned_input);
            net.forward(aligned_input);
            printRow(form, mode, b, i, net.getOutputs(), out_size);
        }
    }
}

std::ifstream openJson(const std::string& dir, const Block& b)
{
    std::ifstream stream(dir + "/" + b.stem + ".json", std::ifstream::binary);
    if(!stream)
        throw std::runtime_error(dir + "/" + b.stem + ".json: cannot open");
    return stream;
}

template <typename ModelType>
void runStatic(const std::string& dir, const Block& b)
{
    auto model = std::make_unique<ModelType>(); // on the heap: the two LSTM models hold megabytes of weights
    auto stream = openJson(dir, b);
    model->parseJson(stream, false);
    runBlock(*model, b, "static", ModelType::output_size);
}

struct StaticModels
{
    std::unique_ptr<kelly::EmotionRecognizer> emotion = std::make_unique<kelly::EmotionRecognizer>();
    std::unique_ptr<kelly::MelodyTransformer> melody = std::make_unique<kelly::MelodyTransformer>();
    std::unique_ptr<kelly::HarmonyPredictor> harmony = std::make_unique<kelly::HarmonyPredictor>();
    std::unique_ptr<kelly::DynamicsEngine> dynamics = std::make_unique<kelly::DynamicsEngine>();
    std::unique_ptr<kelly::GroovePredictor> groove = std::make_unique<kelly::GroovePredictor>();
};

// The pipeline's wiring (mlrun_music_kelly.pipeline.run.Pipeline), every model from a reset state.
void pipeline(StaticModels& m, const float* features)
{
    alignas(RTNEURAL_DEFAULT_ALIGNMENT) static float emotion[64];
    alignas(RTNEURAL_DEFAULT_ALIGNMENT) static float harmony_in[128];
    m.emotion->reset();
    m.emotion->forward(features);
    std::copy(m.emotion->getOutputs(), m.emotion->getOutputs() + 64, emotion);
    std::copy(emotion, emotion + 64, harmony_in);
    std::copy(features, features + 64, harmony_in + 64);
    m.melody->reset();
    m.melody->forward(emotion);
    m.harmony->reset();
    m.harmony->forward(harmony_in);
    m.dynamics->reset();
    m.dynamics->forward(emotion);
    m.groove->reset();
    m.groove->forward(emotion);
}

void timePipeline(const std::string& dir, const std::vector<Block>& blocks, int calls)
{
    StaticModels m;
    std::map<std::string, std::string> stems;
    const float* features = nullptr;
    for(const auto& b : blocks)
    {
        stems[b.name] = b.stem;
        if(b.name == "EmotionRecognizer" && features == nullptr)
            features = b.vectors.at(0).data();
    }
    auto load = [&](auto& model, const std::string& name)
    {
        std::ifstream stream(dir + "/" + stems.at(name) + ".json", std::ifstream::binary);
        model->parseJson(stream, false);
    };
    load(m.emotion, "EmotionRecognizer");
    load(m.melody, "MelodyTransformer");
    load(m.harmony, "HarmonyPredictor");
    load(m.dynamics, "DynamicsEngine");
    load(m.groove, "GroovePredictor");
    std::copy(features, features + 128, aligned_input);

    for(int i = 0; i < std::min(calls, 200); ++i)
        pipeline(m, aligned_input);
    std::vector<double> micros(calls);
    for(auto& t : micros)
    {
        const auto t0 = std::chrono::steady_clock::now();
        pipeline(m, aligned_input);
        t = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    }
    std::sort(micros.begin(), micros.end());
    std::printf("# timing pipeline calls %d median_us %.2f p99_us %.2f\n", calls, micros[calls / 2],
        micros[std::min(calls - 1, (int)(0.99 * calls))]);
}
} // namespace

int main(int argc, char* argv[])
{
    if(argc < 3)
    {
        std::cerr << "usage: " << argv[0] << " JSON_DIR INPUTS_TXT [TIMED_CALLS]\n";
        return 2;
    }
    const std::string dir = argv[1];
    try
    {
        const auto blocks = readInputs(argv[2]);
        for(const auto& b : blocks)
        {
            auto stream = openJson(dir, b);
            auto dynamic = RTNeural::json_parser::parseJson<float>(stream, false);
            if(dynamic->getInSize() != b.in_size)
                throw std::runtime_error(b.stem + ".json: parseJson gave input size "
                    + std::to_string(dynamic->getInSize()));
            runBlock(*dynamic, b, "dynamic", dynamic->getOutSize());

            if(b.name == "EmotionRecognizer")
                runStatic<kelly::EmotionRecognizer>(dir, b);
            else if(b.name == "MelodyTransformer")
                runStatic<kelly::MelodyTransformer>(dir, b);
            else if(b.name == "HarmonyPredictor")
                runStatic<kelly::HarmonyPredictor>(dir, b);
            else if(b.name == "DynamicsEngine")
                runStatic<kelly::DynamicsEngine>(dir, b);
            else if(b.name == "GroovePredictor")
                runStatic<kelly::GroovePredictor>(dir, b);
            else
                throw std::runtime_error("unknown model " + b.name);
        }
        if(argc > 3)
            timePipeline(dir, blocks, std::stoi(argv[3]));
    }
    catch(const std::exception& e)
    {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
