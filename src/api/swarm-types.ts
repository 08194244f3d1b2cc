/**
 * The parts of the Docker Engine API's Swarm objects the controller reads and writes, as
 * plain types, so that pure code (plan/) can handle live state without importing dockerode.
 * Field names are the Engine API's. See https://docs.docker.com/reference/api/engine/.
 */

export interface SwarmVersion {
  Index: number;
}

export interface SwarmPort {
  Name?: string;
  Protocol?: 'tcp' | 'udp' | 'sctp';
  TargetPort?: number;
  PublishedPort?: number;
  PublishMode?: 'ingress' | 'host';
}

export interface SwarmMount {
  Type?: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster';
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean };
  VolumeOptions?: {
    NoCopy?: boolean;
    Labels?: Record<string, string>;
    DriverConfig?: { Name?: string; Options?: Record<string, string> };
  };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface SwarmUpdateConfig {
  Parallelism?: number;
  Delay?: number;
  FailureAction?: 'continue' | 'pause' | 'rollback' | '';
  Monitor?: number;
  MaxFailureRatio?: number;
  Order?: 'stop-first' | 'start-first' | '';
}

export interface SwarmResources {
  NanoCPUs?: number;
  MemoryBytes?: number;
  /** Limits only (API 1.41). */
  Pids?: number;
  /** Reservations only. */
  GenericResources?: {
    DiscreteResourceSpec?: { Kind?: string; Value?: number };
    NamedResourceSpec?: { Kind?: string; Value?: string };
  }[];
  [other: string]: unknown;
}

export interface SwarmSecretReference {
  File?: { Name?: string; UID?: string; GID?: string; Mode?: number };
  SecretID?: string;
  SecretName?: string;
}

export interface SwarmConfigReference {
  File?: { Name?: string; UID?: string; GID?: string; Mode?: number };
  ConfigID?: string;
  ConfigName?: string;
}

export interface SwarmServiceSpec {
  Name?: string;
  Labels?: Record<string, string>;
  TaskTemplate?: {
    ContainerSpec?: {
      Image?: string;
      Labels?: Record<string, string>;
      Command?: string[];
      Args?: string[];
      Hostname?: string;
      Env?: string[];
      Dir?: string;
      User?: string;
      Mounts?: SwarmMount[];
      StopGracePeriod?: number;
      Healthcheck?: {
        Test?: string[];
        Interval?: number;
        Timeout?: number;
        Retries?: number;
        StartPeriod?: number;
        StartInterval?: number;
      };
      Secrets?: SwarmSecretReference[];
      Configs?: SwarmConfigReference[];
      Isolation?: string;
      StopSignal?: string;
      Init?: boolean;
      TTY?: boolean;
      OpenStdin?: boolean;
      ReadOnly?: boolean;
      CapabilityAdd?: string[];
      CapabilityDrop?: string[];
      Sysctls?: Record<string, string>;
      Ulimits?: { Name?: string; Soft?: number; Hard?: number }[];
      OomScoreAdj?: number;
      DNSConfig?: { Nameservers?: string[]; Search?: string[]; Options?: string[] };
      Hosts?: string[];
      [other: string]: unknown;
    };
    Resources?: { Limits?: SwarmResources; Reservations?: SwarmResources };
    RestartPolicy?: {
      Condition?: 'none' | 'on-failure' | 'any';
      Delay?: number;
      MaxAttempts?: number;
      Window?: number;
    };
    Placement?: {
      Constraints?: string[];
      Preferences?: { Spread?: { SpreadDescriptor?: string } }[];
      MaxReplicas?: number;
      Platforms?: unknown[];
    };
    Networks?: { Target?: string; Aliases?: string[]; DriverOpts?: Record<string, string> }[];
    LogDriver?: { Name?: string; Options?: Record<string, string> | null };
    ForceUpdate?: number;
    Runtime?: string;
    [other: string]: unknown;
  };
  Mode?: {
    Replicated?: { Replicas?: number };
    Global?: Record<string, never>;
    ReplicatedJob?: { MaxConcurrent?: number; TotalCompletions?: number };
    GlobalJob?: Record<string, never>;
  };
  UpdateConfig?: SwarmUpdateConfig;
  RollbackConfig?: SwarmUpdateConfig;
  Networks?: { Target?: string; Aliases?: string[] }[];
  EndpointSpec?: { Mode?: 'vip' | 'dnsrr'; Ports?: SwarmPort[] };
}

export interface SwarmService {
  ID: string;
  Version: SwarmVersion;
  CreatedAt?: string;
  UpdatedAt?: string;
  Spec: SwarmServiceSpec;
  PreviousSpec?: SwarmServiceSpec;
  UpdateStatus?: { State?: string; StartedAt?: string; CompletedAt?: string; Message?: string };
  ServiceStatus?: { RunningTasks?: number; DesiredTasks?: number; CompletedTasks?: number };
}

export interface SwarmNetwork {
  Id: string;
  Name: string;
  Driver?: string;
  Scope?: string;
  Attachable?: boolean;
  Internal?: boolean;
  Ingress?: boolean;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  IPAM?: {
    Driver?: string;
    Config?: { Subnet?: string; Gateway?: string; IPRange?: string }[] | null;
    Options?: Record<string, string> | null;
  };
}

export interface SwarmNetworkCreate {
  Name: string;
  Driver: string;
  Attachable: boolean;
  Internal: boolean;
  CheckDuplicate: boolean;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  IPAM: { Driver: string; Config: { Subnet: string; Gateway?: string; IPRange?: string }[] };
}

export interface SwarmTask {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  DesiredState?: string;
  CreatedAt?: string;
  UpdatedAt?: string;
  Spec?: unknown;
  Status?: {
    Timestamp?: string;
    State?: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ExitCode?: number; ContainerID?: string };
  };
  NetworksAttachments?: { Network?: { ID?: string; Spec?: { Name?: string } }; Addresses?: string[] }[];
}

export interface SwarmConfig {
  ID: string;
  Version: SwarmVersion;
  CreatedAt?: string;
  UpdatedAt?: string;
  Spec: { Name: string; Labels?: Record<string, string>; Data?: string; Templating?: { Name?: string } | null };
}

export interface SwarmSecret {
  ID: string;
  Version: SwarmVersion;
  CreatedAt?: string;
  Spec: { Name: string; Labels?: Record<string, string>; Templating?: { Name?: string } | null };
}

/** One record of GET /events. */
export interface SwarmEvent {
  Type: string;
  Action: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  scope?: string;
  time?: number;
  timeNano?: number;
}

/** Everything the planner needs to know about the live Swarm, read with a constant number of calls. */
export interface LiveState {
  services: SwarmService[];
  networks: SwarmNetwork[];
  /** Route configs (labelled swarm.controller/kind=Route), with their data. */
  routeConfigs: SwarmConfig[];
  /** Every config, for the versions of Config manifests and the configs services mount. */
  configs: SwarmConfig[];
  /** Secrets by name and id only (the Engine never returns their data). */
  secrets: SwarmSecret[];
  /** The Engine API version spoken with this engine ("1.41"), which bounds the fields it stores; unknown in fakes. */
  apiVersion?: string;
}
