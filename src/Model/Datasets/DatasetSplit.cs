namespace McuFormer.Model.Datasets;

/// <summary>Which half of a dataset folder that ships both (such as MNIST's train and t10k files) to load.</summary>
public enum DatasetSplit
{
    Train,
    Test,
}
