using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Security.Cryptography;
using System.Xml.Linq;
using BarkSharp.Tests.Infrastructure;

namespace BarkSharp.Tests.Packaging;

/// <summary>
/// What a company takes: the packed packages carry the assembly, its XML docs, the README and the licence, with one
/// version everywhere, and a fresh console app restores them from a folder feed (into its own packages folder, so no
/// stale copy can answer) and speaks with them.
/// </summary>
public class PackageTests
{
    private static string RepoRoot => Path.GetFullPath(Path.Combine(Fixtures.Root, "..", ".."));

    /// <summary>The version set once in Directory.Build.props.</summary>
    private static string Version =>
        XDocument.Load(Path.Combine(RepoRoot, "Directory.Build.props")).Descendants("Version").Single().Value;

    /// <summary>The configuration these tests were built in: packing reuses that build of the projects.</summary>
    private static string Configuration => typeof(PackageTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration;

    private static (int Code, string Output) Dotnet(string workingDirectory, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in args) start.ArgumentList.Add(a);
        // The test host's MSBuild variables would point a nested build at the wrong SDK pieces.
        foreach (string key in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList()) start.Environment.Remove(key);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach ((string key, string value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(), stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', args)} ran over 3 minutes");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    private static void AssertPackage(string nupkg, string id, string version)
    {
        using ZipArchive zip = ZipFile.OpenRead(nupkg);
        string[] entries = [.. zip.Entries.Select(e => e.FullName)];
        foreach (string expected in new[] { $"lib/net10.0/{id}.dll", $"lib/net10.0/{id}.xml", "README.md", "LICENSE" })
            Assert.True(entries.Contains(expected), $"{Path.GetFileName(nupkg)} lacks {expected}; it has {string.Join(", ", entries)}");
        using (var license = new StreamReader(zip.GetEntry("LICENSE")!.Open())) Assert.StartsWith("MIT License", license.ReadToEnd());
        using (var docs = zip.GetEntry($"lib/net10.0/{id}.xml")!.Open()) Assert.True(XDocument.Load(docs).Descendants("member").Count() > 20, "the XML docs are nearly empty");

        XDocument nuspec;
        using (Stream s = zip.GetEntry($"{id}.nuspec")!.Open()) nuspec = XDocument.Load(s);
        XNamespace ns = nuspec.Root!.Name.Namespace;
        XElement metadata = nuspec.Root.Element(ns + "metadata")!;
        Assert.Equal(version, metadata.Element(ns + "version")!.Value);
        Assert.Equal("MIT", metadata.Element(ns + "license")!.Value);
        Assert.Equal("expression", metadata.Element(ns + "license")!.Attribute("type")!.Value);
        Assert.Equal("README.md", metadata.Element(ns + "readme")!.Value);

        string snupkg = Path.ChangeExtension(nupkg, ".snupkg");
        Assert.True(File.Exists(snupkg), $"no symbols package next to {nupkg}");
        using ZipArchive symbols = ZipFile.OpenRead(snupkg);
        Assert.Contains(symbols.Entries, e => e.FullName == $"lib/net10.0/{id}.pdb");
    }

    [Fact]
    public void The_packed_library_and_client_carry_docs_readme_and_licence_and_a_fresh_app_speaks_with_them()
    {
        string version = Version;
        string work = Directory.CreateTempSubdirectory("barksharp-pack-").FullName;
        try
        {
            string feed = Path.Combine(work, "feed"), packages = Path.Combine(work, "packages"), app = Path.Combine(work, "app");
            foreach (string project in new[] { "src/BarkSharp", "src/BarkSharp.Extensions.AI" })
            {
                (int code, string output) = Dotnet(RepoRoot, null, "pack", project, "-c", Configuration, "--no-build", "-o", feed);
                Assert.True(code == 0, output);
            }
            AssertPackage(Path.Combine(feed, $"BarkSharp.{version}.nupkg"), "BarkSharp", version);
            AssertPackage(Path.Combine(feed, $"BarkSharp.Extensions.AI.{version}.nupkg"), "BarkSharp.Extensions.AI", version);

            // A console app outside the repository: its own empty Directory.Build.* files, a packages folder of its own,
            // BarkSharp* only from the fresh feed; everything else from the machine's package cache (offline).
            Directory.CreateDirectory(app);
            File.WriteAllText(Path.Combine(work, "Directory.Build.props"), "<Project />");
            File.WriteAllText(Path.Combine(work, "Directory.Build.targets"), "<Project />");
            string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                           ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <config><add key="globalPackagesFolder" value="{packages}" /></config>
                  <packageSources>
                    <clear />
                    <add key="fresh" value="{feed}" />
                    <add key="cache" value="{cache}" />
                  </packageSources>
                  <packageSourceMapping>
                    <packageSource key="fresh"><package pattern="BarkSharp*" /></packageSource>
                    <packageSource key="cache"><package pattern="*" /></packageSource>
                  </packageSourceMapping>
                </configuration>
                """);
            File.WriteAllText(Path.Combine(app, "Consumer.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <NoWarn>$(NoWarn);MEAI001</NoWarn>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="BarkSharp.Extensions.AI" Version="[{version}]" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(app, "Program.cs"), """
                using BarkSharp;
                using BarkSharp.Extensions.AI;
                using Microsoft.Extensions.AI;

                using BarkModel model = BarkModel.FromPretrained(args[0]);
                BarkProcessor processor = BarkProcessor.FromPretrained(args[0]);
                using ITextToSpeechClient client = model.AsITextToSpeechClient(processor);
                var options = new TextToSpeechOptions { VoiceId = "v2/en_speaker_6", AdditionalProperties = new() { [BarkSpeechProperties.MaxSemanticTokens] = 4 } };
                TextToSpeechResponse response = await client.GetAudioAsync("Hello from a package.", options);
                var audio = (DataContent)response.Contents[0];
                string version = typeof(BarkModel).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
                    .Cast<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion;
                Console.WriteLine($"spoke {audio.Data.Length} bytes of {audio.MediaType} with BarkSharp {version}");
                """);

            (int runCode, string runOutput) = Dotnet(app, new Dictionary<string, string> { ["NUGET_PACKAGES"] = packages }, "run", "-c", "Release", "--", Fixtures.TinyBark);
            Assert.True(runCode == 0, runOutput);
            Assert.Matches($@"spoke \d{{4,}} bytes of audio/wav with BarkSharp {System.Text.RegularExpressions.Regex.Escape(version)}\r?\n", runOutput);

            // What the app restored is the package just packed, byte for byte.
            foreach (string id in new[] { "BarkSharp", "BarkSharp.Extensions.AI" })
            {
                string restored = Path.Combine(packages, id.ToLowerInvariant(), version, $"{id.ToLowerInvariant()}.{version}.nupkg");
                Assert.True(File.Exists(restored), $"{id} was not restored into the app's own packages folder");
                Assert.Equal(SHA256.HashData(File.ReadAllBytes(Path.Combine(feed, $"{id}.{version}.nupkg"))), SHA256.HashData(File.ReadAllBytes(restored)));
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [Fact]
    public void Bark_version_prints_the_one_package_version()
    {
        (int code, string output) = Dotnet(RepoRoot, null, typeof(BarkSharp.Cli.Program).Assembly.Location, "--version");
        Assert.True(code == 0, output);
        Assert.Equal(Version, output.Trim());
        foreach (Assembly assembly in new[] { typeof(BarkModel).Assembly, typeof(BarkSharp.Extensions.AI.BarkTextToSpeechClient).Assembly, typeof(BarkSharp.Server.BarkServerOptions).Assembly })
            Assert.Equal(Version, assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion);
    }
}
