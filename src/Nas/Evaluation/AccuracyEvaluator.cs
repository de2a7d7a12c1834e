using McuFormer.Model.Datasets;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace McuFormer.Nas.Evaluation;

/// <summary>Float top-1 of an ONNX classifier over a labelled dataset, with ONNX Runtime on one thread (callers run several at once).</summary>
public static class AccuracyEvaluator
{
    public static double Top1(string onnxPath, Dataset data)
    {
        if (!data.HasLabels) throw new ArgumentException("the evaluation data has no labels");
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
        using var session = new InferenceSession(onnxPath, options);
        string inputName = session.InputMetadata.Keys.Single();
        int[] shape = [1, .. data.SampleShape];
        var input = new DenseTensor<float>(shape);
        int correct = 0;
        for (int i = 0; i < data.Count; i++)
        {
            data.Sample(i).CopyTo(input.Buffer.Span);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, input)]);
            var logits = results[0].AsTensor<float>();
            int best = 0;
            for (int c = 1; c < logits.Length; c++)
                if (logits.GetValue(c) > logits.GetValue(best)) best = c;
            if (best == data.Label(i)) correct++;
        }
        return (double)correct / data.Count;
    }
}
