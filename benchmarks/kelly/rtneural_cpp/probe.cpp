// Instantiates one compile-time kelly model (-DKELLY_PROBE=<type name>): whether it builds under the current
// EIGEN_STACK_ALLOCATION_LIMIT is the question build.sh asks of each model.
#include "kelly_models.h"

#include <fstream>
#include <memory>

int main(int argc, char* argv[])
{
    auto model = std::make_unique<kelly::KELLY_PROBE>();
    if(argc > 1)
    {
        std::ifstream stream(argv[1], std::ifstream::binary);
        model->parseJson(stream, false);
    }
    alignas(RTNEURAL_DEFAULT_ALIGNMENT) float input[128] = {};
    model->reset();
    model->forward(input);
    return model->getOutputs()[0] > 2.0f;
}
